package caddyclerk

import "testing"

func TestUnmarshalExact(t *testing.T) {
	for _, tc := range []struct {
		in      string
		sub     string
		isStr   bool
		exp     float64
		wantErr bool
	}{
		{`{"sub":"user_1","exp":10}`, "user_1", true, 10, false},
		{`{"sub":"user_1","SUB":"user_evil"}`, "user_1", true, 0, false},
		{`{"Sub":"user_evil","sub":"user_1","EXP":99}`, "user_1", true, 0, false},
		{`{"sub":"a","sub":"b"}`, "b", true, 0, false},
		{`{"s\u0075b":"escaped"}`, "escaped", true, 0, false},
		{`{"sub":1}`, "", false, 0, false},
		{`[1]`, "", false, 0, true},
	} {
		var c sessionClaims
		err := unmarshalExact([]byte(tc.in), &c)
		if (err != nil) != tc.wantErr {
			t.Fatalf("%s: error %v", tc.in, err)
		}
		if err != nil {
			continue
		}
		if c.Sub.val != tc.sub || c.Sub.isStr != tc.isStr || c.Exp.val != tc.exp {
			t.Errorf("%s: sub %q (string %v) exp %v; want %q (%v) %v", tc.in, c.Sub.val, c.Sub.isStr, c.Exp.val, tc.sub, tc.isStr, tc.exp)
		}
	}
}
