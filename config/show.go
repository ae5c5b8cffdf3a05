package config

import (
	"bytes"
	"net/url"

	"github.com/pelletier/go-toml/v2"
)

// Masked is what Show prints in place of a secret.
const Masked = "***"

// Show returns the merged configuration as TOML, with secrets masked:
// password commands, and the paths and queries of notification URLs
// (which often carry tokens).
func Show(c *Config) ([]byte, error) {
	m := *c
	m.Notify = maskNotify(c.Notify)
	m.Repositories = map[string]*Repository{}
	for n, r := range c.Repositories {
		rc := *r
		if rc.PasswordCommand != "" {
			rc.PasswordCommand = Masked
		}
		m.Repositories[n] = &rc
	}
	m.Sources = map[string]*Source{}
	for n, s := range c.Sources {
		sc := *s
		if s.Notify != nil {
			nc := maskNotify(*s.Notify)
			sc.Notify = &nc
		}
		m.Sources[n] = &sc
	}
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	enc.SetIndentTables(true)
	if err := enc.Encode(&m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func maskNotify(n Notify) Notify {
	n.Webhook, n.Ping = MaskURL(n.Webhook), MaskURL(n.Ping)
	return n
}

// MaskURL keeps a URL's scheme and host and masks the rest.
func MaskURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return Masked
	}
	if u.Path == "" && u.RawQuery == "" && u.User == nil {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + "://" + u.Host + "/" + Masked
}
