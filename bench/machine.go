package main

import (
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Machine is what a run was measured on, read once at its start: figures
// from two runs compare only when their machines do.
type Machine struct {
	CPUModel    string `json:"cpu_model"`               // /proc/cpuinfo "model name"
	NumCPU      int    `json:"num_cpu"`                 // runtime.NumCPU: the CPUs this process may run on
	OnlineCPUs  int    `json:"online_cpus"`             // /sys/devices/system/cpu/online
	CgroupCPU   string `json:"cgroup_cpu,omitempty"`    // /sys/fs/cgroup/cpu.max ("quota period"; "max" is no limit)
	MemoryBytes int64  `json:"memory_bytes"`            // /proc/meminfo MemTotal
	CgroupMem   string `json:"cgroup_memory,omitempty"` // /sys/fs/cgroup/memory.max
	OS          string `json:"os"`                      // GOOS/GOARCH
	Kernel      string `json:"kernel"`                  // /proc/sys/kernel/osrelease (uname -r)
	GoVersion   string `json:"go_version"`              // the bench's own Go
	Payrun      Build  `json:"payrun"`
	Postgres    Server `json:"postgres"`
}

// Build identifies the payrun binary measured.
type Build struct {
	Path      string `json:"path"`
	Version   string `json:"version"`              // payrun version --json
	GoVersion string `json:"go_version,omitempty"` // from the binary's build info
	Revision  string `json:"vcs_revision,omitempty"`
	Modified  bool   `json:"vcs_modified,omitempty"` // built from a tree with uncommitted changes
	SHA256    string `json:"sha256"`
}

// Server is the Postgres server the run used and the settings that move
// its figures.
type Server struct {
	Host     string               `json:"host"` // host:port of DATABASE_URL (no credentials)
	Version  string               `json:"server_version"`
	Settings map[string]PGSetting `json:"settings"`
}

// PGSetting is one row of pg_settings: the raw setting in its unit, and
// the value as SHOW prints it.
type PGSetting struct {
	Setting string `json:"setting"`
	Unit    string `json:"unit,omitempty"`
	Value   string `json:"value"`
}

// pgSettings are the server settings recorded with every run.
var pgSettings = []string{"shared_buffers", "work_mem", "maintenance_work_mem", "max_wal_size", "synchronous_commit", "fsync",
	"wal_level", "max_parallel_workers_per_gather", "effective_io_concurrency", "checkpoint_timeout", "full_page_writes"}

// readMachine reads the machine, the payrun binary and the Postgres
// server. What the OS does not say is left empty; the binary and the
// server must answer.
func readMachine(ctx context.Context, binary, serverURL string) (Machine, error) {
	m := Machine{NumCPU: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, GoVersion: runtime.Version()}
	if text, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(text), "\n") {
			if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				m.CPUModel = strings.TrimSpace(value)
				break
			}
		}
	}
	m.OnlineCPUs = cpuCount(readTrimmed("/sys/devices/system/cpu/online"))
	m.CgroupCPU = readTrimmed("/sys/fs/cgroup/cpu.max")
	m.CgroupMem = readTrimmed("/sys/fs/cgroup/memory.max")
	if text, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(text), "\n") {
			if fields := strings.Fields(line); len(fields) >= 2 && fields[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(fields[1], 10, 64)
				m.MemoryBytes = kb * 1024
			}
		}
	}
	m.Kernel = readTrimmed("/proc/sys/kernel/osrelease")
	var err error
	if m.Payrun, err = readBuild(binary); err != nil {
		return m, err
	}
	m.Postgres, err = readServer(ctx, serverURL)
	return m, err
}

func readTrimmed(path string) string {
	text, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(text))
}

// cpuCount counts a kernel CPU list such as "0-3,6": 5 (0 when unreadable).
func cpuCount(list string) int {
	n := 0
	for _, part := range strings.Split(list, ",") {
		first, last, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(first)
		if err != nil {
			return 0
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(last); err != nil || b < a {
				return 0
			}
		}
		n += b - a + 1
	}
	return n
}

// readBuild asks the binary its version and reads its build info and
// digest.
func readBuild(binary string) (Build, error) {
	b := Build{Path: binary}
	output, err := exec.Command(binary, "version", "--json").Output()
	if err != nil {
		return b, fmt.Errorf("payrun version: %w", err)
	}
	var version struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(output, &version); err != nil {
		return b, fmt.Errorf("payrun version --json: %w", err)
	}
	b.Version = version.Version
	if info, err := buildinfo.ReadFile(binary); err == nil {
		b.GoVersion = info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	file, err := os.Open(binary)
	if err != nil {
		return b, err
	}
	defer file.Close()
	digest := sha256.New()
	if _, err := io.Copy(digest, file); err != nil {
		return b, err
	}
	b.SHA256 = hex.EncodeToString(digest.Sum(nil))
	return b, nil
}

func readServer(ctx context.Context, serverURL string) (Server, error) {
	var s Server
	config, err := pgx.ParseConfig(serverURL)
	if err != nil {
		return s, err
	}
	s.Host = fmt.Sprintf("%s:%d", config.Host, config.Port)
	conn, err := pgx.ConnectConfig(ctx, config)
	if err != nil {
		return s, err
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&s.Version); err != nil {
		return s, err
	}
	rows, err := conn.Query(ctx, `SELECT name, setting, coalesce(unit, ''), current_setting(name) FROM pg_settings WHERE name = ANY($1)`, pgSettings)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	s.Settings = map[string]PGSetting{}
	for rows.Next() {
		var name string
		var setting PGSetting
		if err := rows.Scan(&name, &setting.Setting, &setting.Unit, &setting.Value); err != nil {
			return s, err
		}
		s.Settings[name] = setting
	}
	return s, rows.Err()
}

// printMachine writes the machine as the report's first lines.
func printMachine(out io.Writer, m Machine) {
	fmt.Fprintf(out, "machine: %s, %d CPUs (%d online", m.CPUModel, m.NumCPU, m.OnlineCPUs)
	if m.CgroupCPU != "" && m.CgroupCPU != "max 100000" {
		fmt.Fprintf(out, ", cgroup cpu.max %s", m.CgroupCPU)
	}
	fmt.Fprintf(out, "), %.1f GB memory", float64(m.MemoryBytes)/(1<<30))
	if m.CgroupMem != "" && m.CgroupMem != "max" {
		fmt.Fprintf(out, " (cgroup memory.max %s)", m.CgroupMem)
	}
	fmt.Fprintf(out, ", %s %s, %s\n", m.OS, m.Kernel, m.GoVersion)
	p := m.Payrun
	revision := ""
	if p.Revision != "" { // none when built with -buildvcs=false
		revision = fmt.Sprintf("revision %.12s", p.Revision)
		if p.Modified {
			revision += "+modified"
		}
		revision += ", "
	}
	fmt.Fprintf(out, "payrun: %s (%s%s, sha256 %.12s)\n", p.Version, revision, p.GoVersion, p.SHA256)
	fmt.Fprintf(out, "postgres: %s at %s;", m.Postgres.Version, m.Postgres.Host)
	for _, name := range pgSettings {
		if s, ok := m.Postgres.Settings[name]; ok {
			fmt.Fprintf(out, " %s=%s", name, s.Value)
		}
	}
	fmt.Fprintln(out)
}
