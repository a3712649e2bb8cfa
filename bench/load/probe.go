package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Probe reads a server's resident memory and CPU time: from /proc/<PID> when
// PID is set (a server started on this machine), else from the Prometheus
// text at MetricsURL (process_resident_memory_bytes, process_cpu_seconds_total).
type Probe struct {
	PID        int
	MetricsURL string
}

// Sample is one reading of a Probe.
type Sample struct {
	RSS uint64  // resident memory in bytes
	CPU float64 // user plus system CPU seconds since start
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times on Linux.
const clockTicks = 100

// Enabled reports whether the probe has somewhere to read from.
func (p Probe) Enabled() bool { return p.PID > 0 || p.MetricsURL != "" }

// Read takes one sample.
func (p Probe) Read(ctx context.Context) (Sample, error) {
	if p.PID > 0 {
		return readProc(p.PID)
	}
	if p.MetricsURL == "" {
		return Sample{}, errors.New("no server PID and no metrics URL")
	}
	return readMetrics(ctx, p.MetricsURL)
}

// readProc reads VmRSS from /proc/<pid>/status and utime+stime from stat.
func readProc(pid int) (Sample, error) {
	var s Sample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseUint(f[0], 10, 64)
				if err != nil {
					return s, fmt.Errorf("VmRSS: %w", err)
				}
				s.RSS = kb * 1024
			}
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	cpu, err := parseStatCPU(string(stat))
	if err != nil {
		return s, err
	}
	s.CPU = cpu
	return s, nil
}

// parseStatCPU returns utime+stime in seconds from a /proc/<pid>/stat line.
// The command name may hold spaces and parentheses, so fields are counted
// after the last ')'.
func parseStatCPU(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("stat: too few fields")
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("stat: bad utime or stime")
	}
	return float64(ut+st) / clockTicks, nil
}

// readMetrics scrapes the two process metrics from Prometheus text.
func readMetrics(ctx context.Context, url string) (Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Sample{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Sample{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Sample{}, fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads process_resident_memory_bytes and
// process_cpu_seconds_total from Prometheus text; both must be present.
func parseMetrics(r io.Reader) (Sample, error) {
	var s Sample
	var haveRSS, haveCPU bool
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "process_resident_memory_bytes":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return s, err
			}
			s.RSS, haveRSS = uint64(v), true
		case "process_cpu_seconds_total":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return s, err
			}
			s.CPU, haveCPU = v, true
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if !haveRSS || !haveCPU {
		return s, errors.New("metrics: process_resident_memory_bytes or process_cpu_seconds_total missing")
	}
	return s, nil
}
