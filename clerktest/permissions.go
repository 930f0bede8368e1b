package clerktest

import (
	"math/big"
	"strings"
)

// EncodeOrgPermissions encodes organization permissions the way Clerk's v2
// session tokens carry them, so that Clerk's parser
// (__experimental_JWTPayloadToAuthObjectProperties) decodes them back to the
// same set.
//
// permissions are full permission keys "org:<feature>:<permission>" (the
// "org:" prefix is optional); entries without a feature and a permission
// name are skipped. features are extra organization features that carry no
// permission.
//
// It returns:
//   - orgFeatures: the organization feature names, without the "o:" scope,
//     in the order they go into the fea claim: features of permissions in
//     order of first appearance, then the extra features not seen yet;
//   - per: the distinct permission names in order of first appearance,
//     comma-separated ("" if there are none);
//   - fpm: one decimal bitmask per entry of orgFeatures, comma-separated,
//     where bit j (least significant first) is set if the feature has
//     permission per[j] ("" if per is empty).
//
// For example permissions org:invoices:read, org:invoices:manage and
// org:reports:read give orgFeatures [invoices reports], per "read,manage"
// and fpm "3,1".
func EncodeOrgPermissions(permissions, features []string) (orgFeatures []string, per, fpm string) {
	var (
		names    []string
		nameIdx  = map[string]int{}
		featIdx  = map[string]int{}
		featBits []*big.Int
	)
	addFeature := func(f string) int {
		if k, ok := featIdx[f]; ok {
			return k
		}
		featIdx[f] = len(orgFeatures)
		orgFeatures = append(orgFeatures, f)
		featBits = append(featBits, new(big.Int))
		return len(orgFeatures) - 1
	}
	for _, p := range permissions {
		feature, name, ok := strings.Cut(strings.TrimPrefix(p, "org:"), ":")
		if !ok || feature == "" || name == "" {
			continue
		}
		j, seen := nameIdx[name]
		if !seen {
			j = len(names)
			nameIdx[name] = j
			names = append(names, name)
		}
		f := addFeature(feature)
		featBits[f].SetBit(featBits[f], j, 1)
	}
	for _, f := range features {
		if f != "" {
			addFeature(f)
		}
	}
	if len(names) == 0 {
		return orgFeatures, "", ""
	}
	masks := make([]string, len(featBits))
	for k, b := range featBits {
		masks[k] = b.String()
	}
	return orgFeatures, strings.Join(names, ","), strings.Join(masks, ",")
}

// feaClaim builds a fea claim from organization and user feature names:
// "o:<org>,…,u:<user>,…", or "" if both are empty.
func feaClaim(orgFeatures, userFeatures []string) string {
	parts := make([]string, 0, len(orgFeatures)+len(userFeatures))
	for _, f := range orgFeatures {
		parts = append(parts, "o:"+f)
	}
	for _, f := range userFeatures {
		if f != "" {
			parts = append(parts, "u:"+f)
		}
	}
	return strings.Join(parts, ",")
}
