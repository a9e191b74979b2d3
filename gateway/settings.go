package gateway

import (
	"net/http"
	"net/url"

	"github.com/kelisim/kelisim/banner"
)

// settingsPage renders <prefix>settings for visitor v: their choice and
// its history from the store, the banner's form to change it (which comes
// back here), a form to withdraw, and the way back to ret — the page they
// came from. It works without JavaScript.
func (g *Gateway) settingsPage(r *http.Request, v visitor, lang, ret string) []byte {
	p := banner.SettingsPage{Lang: lang, Site: "//" + r.Host, Host: r.Host, Return: ret,
		Granted: v.granted(), Decided: v.decided, GPC: v.gpc, Withdrawn: r.URL.Query().Get("withdrawn")}
	// A choice made here comes back here, to show it, in the language
	// the page was asked in — unless the visitor came by the banner's
	// Customise (choose=1): then it goes back to their page, as the
	// banner's own buttons do.
	if r.URL.Query().Get("choose") != "1" {
		p.FormReturn = g.cfg.Prefix + "settings?return=" + url.QueryEscape(ret)
		if l := r.URL.Query().Get("lang"); l != "" {
			p.FormReturn += "&lang=" + url.QueryEscape(lang)
		}
	}
	if v.known {
		recs, err := g.cfg.Store.History(r.Context(), v.state.ID)
		if err != nil {
			g.metrics.StoreError()
			g.log.Error("reading consent history failed", "consent_id", v.state.ID, "error", err)
			p.HistoryUnavailable = true
		}
		for _, rec := range recs {
			p.History = append(p.History, banner.HistoryEntry{Time: rec.Time, Action: rec.Action, Categories: rec.Granted})
		}
	}
	return g.cfg.Banner.Settings(p)
}
