package caddymodule

import (
	"encoding/json"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	d := caddyfile.NewTestDispenser(`consent {
		policy_version 2024-05
		prefix /cc/
		secret {env.KELISIM_SECRET}
		operator "NLG.KZ LLP"
		policy_url /privacy.html
		default_lang ru
		necessary www.google.com/recaptcha/ cdn.example.kz
		text en title "Cookies & <you>"
		processor google-tag-manager {
			category marketing
		}
		processor own-widget {
			name Own widget
			category functional
			country KZ
			hosts widget.example.kz
			cookies ow_id ow_*
			snippets OwnWidget.init(
		}
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(h)
	want := `{"policy_version":"2024-05","prefix":"/cc/","secret":"{env.KELISIM_SECRET}","operator":"NLG.KZ LLP","policy_url":"/privacy.html","default_lang":"ru",` +
		`"processors":[{"id":"google-tag-manager","category":"marketing"},{"id":"own-widget","name":"Own widget","country":"KZ","category":"functional","urls":["widget.example.kz"],"cookies":["ow_id","ow_*"],"snippets":["OwnWidget.init("]}],` +
		`"necessary_hosts":["www.google.com/recaptcha/","cdn.example.kz"],"texts":{"en":{"title":"Cookies \u0026 \u003cyou\u003e"}}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestBareDirective(t *testing.T) {
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`consent`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(h); string(got) != "{}" {
		t.Errorf("bare consent = %s", got)
	}
}
