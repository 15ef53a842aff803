// Package config reads payrun's configuration: environment variables, plus
// an optional file of the same NAME=value pairs. The environment wins over
// the file; the file wins over the defaults. Every variable, its meaning and
// its default is listed in [Variables] (and in the README).
//
// DATABASE_URL has two fallbacks after those, so the binary finds the
// database `make db` set up from any folder: the environment, then the
// --config (PAYRUN_CONFIG) file, then .data/database_url in the working
// directory or a parent, then the user config file `make db` writes
// ([UserFile]). Config.DatabaseURLFrom names the one used, so an error
// connecting can say where a stale URL came from.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Variable documents one setting.
type Variable struct {
	Name    string
	Default string
	Meaning string
}

// Variables lists every setting payrun reads.
var Variables = []Variable{
	{"DATABASE_URL", "the URL `make db` wrote to .data/database_url (looked for from the working directory up), else the DATABASE_URL line of the user config file (UserFile) `make db` also writes", "Postgres connection URL"},
	{"PAYRUN_CONFIG", "(none)", "a file of NAME=value lines setting any variable below; the environment wins"},
	{"PAYRUN_ADDR", "127.0.0.1:8080", "listen address of `payrun serve` (admin API, /metrics, /healthz, /readyz)"},
	{"PAYRUN_OUT", "./out", "output directory for cycles, reports and outbox files"},
	{"PAYRUN_DATA_KEY", "(required unless PAYRUN_DEV=1)", "base64 of a 32-byte key encrypting sensitive fields at rest"},
	{"PAYRUN_DEV", "unset", "1 = development mode: a fixed local key, readable logs, loud banner"},
	{"PAYRUN_HOLDING_DAYS", "30", "days from transaction_at to eligible_at when an earnings line gives none"},
	{"PAYRUN_POLICY", "(SPEC defaults)", "a policy JSON file (threshold, thresholds per method:currency, backup_withholding, approval, close/payment days, holidays) for the scheduled close and the CLI"},
	{"PAYRUN_SMTP_ADDR", "unset (mail written as files under PAYRUN_OUT/outbox)", "SMTP relay host:port for invitation and password-reset mail"},
	{"PAYRUN_SMTP_FROM", "payrun@localhost", "sender address of outbox mail"},
	{"PAYRUN_SMTP_USER", "unset", "SMTP user (PLAIN authentication) when the relay needs one"},
	{"PAYRUN_SMTP_PASSWORD", "unset", "SMTP password"},
	{"PAYRUN_CLOSE_SHARDS", "8", "shards a cycle's close is split into when it starts (1..1024); fixed for that cycle, so the result never depends on the number of workers"},
	{"PAYRUN_JOB_WORKERS", "4", "jobs (close shards included) one `payrun serve` replica runs at once (1..64)"},
	{"PAYRUN_JOBS", "all", "comma-separated jobs this `payrun serve` replica runs (e.g. close-cycle,release-payments); occurrences of the others wait for a replica that runs them"},
	{"PAYRUN_JOB_RESCUE_AFTER", "longest job timeout + 15m (at least 1h)", "age at which a running job whose replica died is retried elsewhere (Go duration, e.g. 90s; every job's timeout is capped below it)"},
	{"PAYRUN_NOW", "unset (the system clock)", "RFC 3339 instant a one-shot command takes as \"now\" (simulations, benchmarks, back-dated operations); warned on stderr"},
	{"PAYRUN_ACH_DESTINATION", "(dev: 011000015)", "NACHA immediate destination: 9-digit routing number of the bank receiving the ACH file"},
	{"PAYRUN_ACH_DESTINATION_NAME", "(dev: DEMO BANK)", "NACHA immediate destination name (23 characters)"},
	{"PAYRUN_ACH_ORIGIN", "(dev: 1123456789)", "NACHA immediate origin, 10 characters (\"1\" + EIN, or \" \" + routing)"},
	{"PAYRUN_ACH_ORIGIN_NAME", "(dev: PAYRUN DEMO)", "NACHA immediate origin name (23 characters)"},
	{"PAYRUN_ACH_COMPANY_NAME", "(dev: PAYRUN DEMO)", "company name shown on receivers' statements (16 characters)"},
	{"PAYRUN_ACH_COMPANY_ID", "(dev: 1123456789)", "NACHA company identification (10 characters)"},
	{"PAYRUN_ACH_ODFI", "(dev: 01100001)", "originating bank's 8-digit routing prefix (trace numbers)"},
	{"PAYRUN_ACH_DESCRIPTION", "PAYOUT", "company entry description on ACH entries (10 characters)"},
	{"PAYRUN_SEPA_DEBTOR_NAME", "(dev: PAYRUN DEMO)", "pain.001 debtor (payrun's own account) name"},
	{"PAYRUN_SEPA_DEBTOR_IBAN", "(dev: DE89370400440532013000)", "pain.001 debtor IBAN"},
	{"PAYRUN_SEPA_DEBTOR_BIC", "(dev: COBADEFFXXX)", "pain.001 debtor BIC"},
	{"PAYRUN_PAYPAL_SUBJECT", "Your payout from the marketplace", "e-mail subject PayPal sends with each payout"},
}

// devPaymentDefaults are the originator settings development mode uses when
// none are configured: sample values that no bank would accept.
var devPaymentDefaults = map[string]string{
	"PAYRUN_ACH_DESTINATION": "011000015", "PAYRUN_ACH_DESTINATION_NAME": "DEMO BANK",
	"PAYRUN_ACH_ORIGIN": "1123456789", "PAYRUN_ACH_ORIGIN_NAME": "PAYRUN DEMO", "PAYRUN_ACH_COMPANY_NAME": "PAYRUN DEMO",
	"PAYRUN_ACH_COMPANY_ID": "1123456789", "PAYRUN_ACH_ODFI": "01100001",
	"PAYRUN_SEPA_DEBTOR_NAME": "PAYRUN DEMO", "PAYRUN_SEPA_DEBTOR_IBAN": "DE89370400440532013000", "PAYRUN_SEPA_DEBTOR_BIC": "COBADEFFXXX",
}

// Config is the resolved configuration.
type Config struct {
	DatabaseURL string
	// DatabaseURLFrom says where DatabaseURL came from: "DATABASE_URL"
	// (the environment) or a file's path (the --config file,
	// .data/database_url or the user config file); empty when none gave one.
	DatabaseURLFrom string
	Addr            string
	Out             string
	DataKey         string
	Dev             bool
	HoldingPeriod   time.Duration
	// Now, when set (PAYRUN_NOW), is the instant commands take as now.
	Now time.Time
	// CloseShards is how many shards a cycle's close starts with.
	CloseShards int
	// JobWorkers is how many jobs a serve replica runs at once.
	JobWorkers int
	// Jobs lists the jobs a serve replica runs (nil: all).
	Jobs []string
	// JobRescueAfter, when set, is River's rescue age (see jobs.Config).
	JobRescueAfter time.Duration
	// PolicyFile is the cycle policy (PAYRUN_POLICY); empty for defaults.
	PolicyFile string
	// SMTP relay for outbox mail; SMTPAddr empty writes files instead.
	SMTPAddr, SMTPFrom, SMTPUser, SMTPPassword string
	// Payment files: the originator of ACH files and the debtor of pain.001
	// files, by variable name (PAYRUN_ACH_*, PAYRUN_SEPA_*, PAYRUN_PAYPAL_*).
	Payments map[string]string
}

// Payment returns a payment-file setting, or an error naming the variable
// when it is not configured.
func (c Config) Payment(name string) (string, error) {
	if v := c.Payments[name]; v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%s is not set (see the README's configuration table; PAYRUN_DEV=1 uses sample values)", name)
}

// URLFile is where `make db` writes the database URL, relative to the
// repository root.
const URLFile = ".data/database_url"

// Load resolves the configuration from the environment and, when file is
// not empty (or PAYRUN_CONFIG names one), from that file.
// Errors name the variable (and the file line) at fault.
func Load(file string) (Config, error) {
	values := map[string]string{}
	if file == "" {
		file = os.Getenv("PAYRUN_CONFIG")
	}
	if file != "" {
		if err := readFile(file, values); err != nil {
			return Config{}, err
		}
	}
	get := func(name, fallback string) string {
		if v, ok := os.LookupEnv(name); ok && v != "" {
			return v
		}
		if v, ok := values[name]; ok && v != "" {
			return v
		}
		return fallback
	}
	cfg := Config{
		DatabaseURL:  get("DATABASE_URL", ""),
		Addr:         get("PAYRUN_ADDR", "127.0.0.1:8080"),
		Out:          get("PAYRUN_OUT", "out"),
		DataKey:      get("PAYRUN_DATA_KEY", ""),
		Dev:          get("PAYRUN_DEV", "") == "1",
		PolicyFile:   get("PAYRUN_POLICY", ""),
		SMTPAddr:     get("PAYRUN_SMTP_ADDR", ""),
		SMTPFrom:     get("PAYRUN_SMTP_FROM", "payrun@localhost"),
		SMTPUser:     get("PAYRUN_SMTP_USER", ""),
		SMTPPassword: get("PAYRUN_SMTP_PASSWORD", ""),
	}
	switch {
	case os.Getenv("DATABASE_URL") != "":
		cfg.DatabaseURLFrom = "DATABASE_URL"
	case cfg.DatabaseURL != "":
		cfg.DatabaseURLFrom = file
	default:
		cfg.DatabaseURL, cfg.DatabaseURLFrom = urlFromFile()
		if cfg.DatabaseURL == "" {
			url, err := urlFromUserFile()
			if err != nil {
				return Config{}, err
			}
			if url != "" {
				cfg.DatabaseURL, cfg.DatabaseURLFrom = url, UserFile()
			}
		}
	}
	cfg.Payments = map[string]string{}
	for _, v := range Variables {
		if strings.HasPrefix(v.Name, "PAYRUN_ACH_") || strings.HasPrefix(v.Name, "PAYRUN_SEPA_") || strings.HasPrefix(v.Name, "PAYRUN_PAYPAL_") {
			fallback := ""
			if cfg.Dev {
				fallback = devPaymentDefaults[v.Name]
			}
			if !strings.HasPrefix(v.Default, "(") {
				fallback = v.Default
			}
			cfg.Payments[v.Name] = get(v.Name, fallback)
		}
	}
	if text := get("PAYRUN_NOW", ""); text != "" {
		now, err := time.Parse(time.RFC3339, text)
		if err != nil {
			return Config{}, fmt.Errorf("PAYRUN_NOW: %q is not an RFC 3339 instant", text)
		}
		cfg.Now = now.UTC()
	}
	days, err := boundedInt(get, "PAYRUN_HOLDING_DAYS", "30", 0, 3650)
	if err != nil {
		return Config{}, err
	}
	cfg.HoldingPeriod = time.Duration(days) * 24 * time.Hour
	if cfg.CloseShards, err = boundedInt(get, "PAYRUN_CLOSE_SHARDS", "8", 1, 1024); err != nil {
		return Config{}, err
	}
	if cfg.JobWorkers, err = boundedInt(get, "PAYRUN_JOB_WORKERS", "4", 1, 64); err != nil {
		return Config{}, err
	}
	if text := get("PAYRUN_JOBS", "all"); text != "all" {
		for _, name := range strings.Split(text, ",") {
			if name = strings.TrimSpace(name); name != "" {
				cfg.Jobs = append(cfg.Jobs, name)
			}
		}
		if len(cfg.Jobs) == 0 {
			return Config{}, fmt.Errorf("PAYRUN_JOBS: %q names no job (use all, or job names separated by commas)", text)
		}
	}
	if text := get("PAYRUN_JOB_RESCUE_AFTER", ""); text != "" {
		rescue, err := time.ParseDuration(text)
		if err != nil || rescue < 10*time.Second {
			return Config{}, fmt.Errorf("PAYRUN_JOB_RESCUE_AFTER: %q is not a Go duration of at least 10s", text)
		}
		cfg.JobRescueAfter = rescue
	}
	return cfg, nil
}

// boundedInt reads a whole number between low and high.
func boundedInt(get func(name, fallback string) string, name, fallback string, low, high int) (int, error) {
	text := get(name, fallback)
	n, err := strconv.Atoi(text)
	if err != nil || n < low || n > high {
		return 0, fmt.Errorf("%s: %q is not a whole number between %d and %d", name, text, low, high)
	}
	return n, nil
}

func readFile(file string, values map[string]string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	known := map[string]bool{}
	for _, v := range Variables {
		known[v.Name] = true
	}
	scanner := bufio.NewScanner(f)
	line := 0
	for scanner.Scan() {
		line++
		text := strings.TrimSpace(scanner.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, value, ok := strings.Cut(text, "=")
		name = strings.TrimSpace(name)
		if !ok {
			return fmt.Errorf("config file %s, line %d: want NAME=value", file, line)
		}
		if !known[name] {
			return fmt.Errorf("config file %s, line %d: unknown setting %q", file, line, name)
		}
		values[name] = strings.Trim(strings.TrimSpace(value), `"`)
	}
	if err := scanner.Err(); err != nil {
		return fmt.Errorf("config file %s: %w", file, err)
	}
	return nil
}

// DatabaseURL returns DATABASE_URL, or else the URL `make db` wrote to
// .data/database_url. It is what the tests use (testsupport/dbtest) and,
// unlike Load, never reads the user config file: a user config written by
// another clone's `make db` must not send one clone's tests to another's
// cluster.
func DatabaseURL() string {
	if v := os.Getenv("DATABASE_URL"); v != "" {
		return v
	}
	url, _ := urlFromFile()
	return url
}

// urlFromFile looks for .data/database_url in the working directory and its
// parents (tests run in package directories below the repository root) and
// returns the URL and the file's path.
func urlFromFile() (url, path string) {
	dir, err := os.Getwd()
	if err != nil {
		return "", ""
	}
	for {
		path := filepath.Join(dir, URLFile)
		body, err := os.ReadFile(path)
		if err == nil {
			if url := strings.TrimSpace(string(body)); url != "" {
				return url, path
			}
			return "", ""
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ""
		}
		dir = parent
	}
}

// UserFile is the user-level configuration file `make db` writes (a
// DATABASE_URL=... line), so the binary finds its database from any folder:
// $XDG_CONFIG_HOME/payrun/config, or ~/.config/payrun/config. Empty when
// neither XDG_CONFIG_HOME nor the home directory is known.
func UserFile() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "payrun", "config")
}

// urlFromUserFile reads DATABASE_URL from the user config file; "" when the
// file does not exist. The file is in the --config format, but only
// DATABASE_URL is read from it: another setting there is an error (it would
// otherwise be silently ignored).
func urlFromUserFile() (string, error) {
	path := UserFile()
	if path == "" {
		return "", nil
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	values := map[string]string{}
	if err := readFile(path, values); err != nil {
		return "", fmt.Errorf("user config: %w", err)
	}
	for name := range values {
		if name != "DATABASE_URL" {
			return "", fmt.Errorf("user config file %s: only DATABASE_URL is read from it, not %s (set that in the environment or a --config file)", path, name)
		}
	}
	return values["DATABASE_URL"], nil
}

// ErrNoDatabaseURL is the error of a command that needs a database when no
// DATABASE_URL was found anywhere; it says how to get one.
func ErrNoDatabaseURL() error {
	user := UserFile()
	if user == "" {
		user = "~/.config/payrun/config"
	}
	return fmt.Errorf("no database URL: run `make db` in the payrun repository (it starts a private Postgres and writes its URL to "+
		"%s, which payrun reads from any folder), or set DATABASE_URL, or put a line DATABASE_URL=postgres://USER@HOST:PORT/DATABASE "+
		"in that file", user)
}
