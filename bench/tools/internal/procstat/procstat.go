// Package procstat reads the memory figures of a process the benchmarks
// measure: its RSS from /proc and its live Go heap through Caddy's admin API.
package procstat

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// LiveHeap forces a GC in the target through its pprof endpoint, then reads
// HeapAlloc and HeapSys from its expvar memstats.
func LiveHeap(admin string) (alloc, sys uint64) {
	client := &http.Client{Timeout: 30 * time.Second}
	if resp, err := client.Get(admin + "/debug/pprof/heap?gc=1"); err == nil {
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
	}
	resp, err := client.Get(admin + "/debug/vars")
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	var vars struct {
		Memstats struct {
			HeapAlloc uint64
			HeapSys   uint64
		} `json:"memstats"`
	}
	if json.NewDecoder(resp.Body).Decode(&vars) != nil {
		return 0, 0
	}
	return vars.Memstats.HeapAlloc, vars.Memstats.HeapSys
}

// ProcMem reads VmRSS and VmHWM (KiB) from /proc/<pid>/status.
func ProcMem(pid int) (rss, hwm int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm
}
