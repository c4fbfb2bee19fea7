package main

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/realclientip/realclientip-go"

	"keyfob/handlers"
	"keyfob/models"
)

// config is everything Keyfob reads from the environment, in one place, with its defaults.
type config struct {
	Addr          string
	BaseURL       string
	DatabaseURL   string
	DataDir       string
	UploadsDir    string
	SignupOpen    bool
	AdminEmail    string
	AdminPassword string
	// HashMemoryMiB bounds the memory of password hashing (64 MiB per argon2id run at once).
	HashMemoryMiB  int
	TrustedProxies []net.IPNet
}

// loadConfig reads the environment through getenv; a bad value is an error naming the variable.
func loadConfig(getenv func(string) string) (config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	cfg := config{
		Addr:          get("KEYFOB_ADDR", ":8080"),
		BaseURL:       strings.TrimRight(get("KEYFOB_BASE_URL", "http://localhost:8080"), "/"),
		DatabaseURL:   get("DATABASE_URL", ""),
		DataDir:       get("KEYFOB_DATA_DIR", "./data"),
		UploadsDir:    get("KEYFOB_UPLOADS_DIR", "./uploads"),
		AdminEmail:    get("KEYFOB_ADMIN_EMAIL", ""),
		AdminPassword: getenv("KEYFOB_ADMIN_PASSWORD"),
	}
	if _, port, err := net.SplitHostPort(cfg.Addr); err != nil || !validPort(port) {
		return cfg, fmt.Errorf("KEYFOB_ADDR=%q: use host:port or :port with a port from 0 to 65535, e.g. :8080", cfg.Addr)
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || (base.Path != "" && base.Path != "/") ||
		base.RawQuery != "" || base.Fragment != "" || base.User != nil {
		return cfg, fmt.Errorf("KEYFOB_BASE_URL=%q: use the public origin, e.g. https://keyfob.example.com (no path)", cfg.BaseURL)
	}
	if cfg.DatabaseURL != "" && !strings.HasPrefix(cfg.DatabaseURL, "postgres://") && !strings.HasPrefix(cfg.DatabaseURL, "postgresql://") {
		return cfg, fmt.Errorf("DATABASE_URL: use a postgres:// URL, or leave it empty for the embedded SQLite database")
	}
	hashMemory, err := strconv.Atoi(get("KEYFOB_PASSWORD_HASH_MEMORY_MB", strconv.Itoa(models.DefaultPasswordHashMemoryMiB)))
	if err != nil || hashMemory < models.PasswordHashMiB || hashMemory > 64*1024 {
		return cfg, fmt.Errorf("KEYFOB_PASSWORD_HASH_MEMORY_MB: use a whole number of MiB from %d (one sign-in at a time) to 65536; each concurrent sign-in needs %d",
			models.PasswordHashMiB, models.PasswordHashMiB)
	}
	cfg.HashMemoryMiB = hashMemory
	if proxies := get("KEYFOB_TRUSTED_PROXIES", ""); proxies != "" {
		ranges, err := realclientip.AddressesAndRangesToIPNets(strings.Split(strings.ReplaceAll(proxies, " ", ""), ",")...)
		if err != nil {
			return cfg, fmt.Errorf("KEYFOB_TRUSTED_PROXIES=%q: use a comma-separated list of IP addresses or CIDR ranges of your load balancers, e.g. 10.0.0.0/8,192.0.2.7", proxies)
		}
		cfg.TrustedProxies = ranges
	}
	switch signup := get("KEYFOB_SIGNUP", "open"); signup {
	case "open", "closed":
		cfg.SignupOpen = signup == "open"
	default:
		return cfg, fmt.Errorf("KEYFOB_SIGNUP=%q: use open or closed", signup)
	}
	return cfg, nil
}

// sqlitePath is where the embedded database lives when DATABASE_URL is empty.
func (c config) sqlitePath() string { return filepath.Join(c.DataDir, "keyfob.db") }

func (c config) handlers() handlers.Config {
	return handlers.Config{BaseURL: c.BaseURL, SignupOpen: c.SignupOpen, UploadsDir: c.UploadsDir, TrustedProxies: c.TrustedProxies}
}

func validPort(port string) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}
