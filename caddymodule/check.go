package caddymodule

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/kelisim/kelisim/banner"
	"github.com/kelisim/kelisim/catalog"
)

// The checks below are shared by the Caddyfile parser, which wraps their
// errors with the file and line, and by Provision, which is all a JSON
// config gets.

func checkPrefix(p string) error {
	if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || strings.ContainsAny(p, "?#") {
		return fmt.Errorf("prefix %q must start and end with / (e.g. /_consent/)", p)
	}
	return nil
}

func checkPolicyURL(u string) error {
	l := strings.ToLower(u)
	if !strings.HasPrefix(l, "/") && !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") {
		return fmt.Errorf("policy_url %q: want a path on this site (e.g. /privacy) or an http(s) URL", u)
	}
	return nil
}

func checkLang(option, lang string) error {
	if !slices.Contains(banner.Languages(), lang) {
		return fmt.Errorf("%s: unknown language %q (want one of %s)", option, lang, strings.Join(banner.Languages(), ", "))
	}
	return nil
}

func checkText(lang, key string) error {
	if err := checkLang("text", lang); err != nil {
		return err
	}
	if !slices.Contains(banner.TextKeys(), key) {
		return fmt.Errorf("text: unknown key %q%s (known: %s)", key, catalog.DidYouMean(key, banner.TextKeys()), strings.Join(banner.TextKeys(), ", "))
	}
	return nil
}

func checkGoogleConsentMode(v string) error {
	if v != "on" && v != "off" && v != "auto" {
		return fmt.Errorf("google_consent_mode %q: want on, off or auto", v)
	}
	return nil
}

func checkReopen(v string) error {
	if v != "on" && v != "off" {
		return fmt.Errorf("reopen %q: want on or off (off when the site links #consent-settings itself)", v)
	}
	return nil
}

// checkSecret expands the secret as Provision will, so an unset
// environment variable or a short secret is found by `kelisim validate`
// with its line.
func checkSecret(s string) error {
	if _, err := configuredSecret(s); err != nil {
		return fmt.Errorf("%w; generate one with `openssl rand -hex 32`, or leave `secret` out to have one kept in the data directory", err)
	}
	return nil
}

// checkAddress checks a Valkey address; one with a placeholder is taken
// as it is.
func checkAddress(a string) error {
	if strings.Contains(a, "{") {
		return nil
	}
	host, port, err := net.SplitHostPort(a)
	n, perr := strconv.Atoi(port)
	if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return fmt.Errorf("valkey address %q: want host:port, e.g. 127.0.0.1:6379 or valkey.internal:6379", a)
	}
	return nil
}
