package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kelisim/kelisim/catalog"
	"github.com/kelisim/kelisim/consent"
	"github.com/kelisim/kelisim/cookies"
	"github.com/kelisim/kelisim/store"
)

// maxBody bounds consent POST bodies; a real one is under 200 bytes.
const maxBody = 8 << 10

// OwnCSP is the Content-Security-Policy of every response under the
// prefix. The settings page is the only document among them: it loads
// the banner's script and style from the prefix, talks to the consent
// API, posts its form there, and may be framed by the site itself only.
const OwnCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'self'; base-uri 'none'"

// serveAPI answers requests under the prefix; they never reach the origin.
func (g *Gateway) serveAPI(w http.ResponseWriter, r *http.Request, name string) error {
	h := w.Header()
	h.Set("Content-Security-Policy", OwnCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	switch name {
	case "consent":
		switch r.Method {
		case http.MethodPost:
			return g.postConsent(w, r)
		case http.MethodGet, http.MethodHead:
			return g.getConsent(w, r)
		case http.MethodDelete:
			return g.deleteConsent(w, r)
		}
		w.Header().Set("Allow", "GET, HEAD, POST, DELETE")
		return writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	case "banner":
		return g.serveBanner(w, r, false)
	case "lang":
		return g.setLang(w, r)
	case "settings":
		return g.serveBanner(w, r, true)
	case "csp-report":
		return g.cspReport(w, r)
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if g.cfg.Banner.ServeAsset(w, r, name) {
			return nil
		}
	}
	return writeError(w, http.StatusNotFound, "not found")
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	return json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) error {
	return writeJSON(w, code, apiError{Error: msg})
}

// sameOrigin refuses cross-site requests that change consent: a foreign
// Origin, or a browser saying the request came from another site.
func sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		// The host only: behind a TLS-terminating proxy that does not say
		// so, the gateway cannot tell the scheme, and whoever can act as
		// http://host can rewrite that site's pages anyway.
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return false
	}
	return true
}

// safeReturn keeps the no-JavaScript redirect on this site: a path only,
// never "//host" or a scheme.
func safeReturn(p string) string {
	if p == "" || len(p) > 2048 || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\' {
			return "/"
		}
	}
	return p
}

type consentRequest struct {
	Action     string   `json:"action"`
	Categories []string `json:"categories"`
	Lang       string   `json:"lang"`
	Return     string   `json:"return"`
}

type consentResponse struct {
	ID            string   `json:"id"`
	Categories    []string `json:"categories"`
	PolicyVersion string   `json:"policy_version"`
}

func names(s catalog.Set) []string {
	out := []string{}
	for _, c := range s.Categories() {
		out = append(out, string(c))
	}
	return out
}

func (g *Gateway) postConsent(w http.ResponseWriter, r *http.Request) error {
	if !sameOrigin(r) {
		g.log.Warn("cross-site consent post refused", "origin", r.Header.Get("Origin"))
		return writeError(w, http.StatusForbidden, "cross-site request refused")
	}
	if !g.limiter.allow(g.clientHint(r, "rate"), consent.Now()) {
		w.Header().Set("Retry-After", "60")
		return writeError(w, http.StatusTooManyRequests, "too many decisions from this address; try again in a minute")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	var req consentRequest
	form := false
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&req); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return writeError(w, http.StatusRequestEntityTooLarge, "body too large")
			}
			return writeError(w, http.StatusBadRequest, "body is not a consent JSON object: "+err.Error())
		}
	case "application/x-www-form-urlencoded", "multipart/form-data":
		form = true
		err := r.ParseMultipartForm(maxBody)
		if errors.Is(err, http.ErrNotMultipart) {
			err = nil
		}
		if err == nil && len(r.PostForm) == 0 && r.ContentLength > maxBody {
			err = &http.MaxBytesError{Limit: maxBody}
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) || strings.Contains(err.Error(), "too large") {
				return writeError(w, http.StatusRequestEntityTooLarge, "body too large")
			}
			return writeError(w, http.StatusBadRequest, "bad form: "+err.Error())
		}
		req = consentRequest{Action: r.PostForm.Get("action"), Categories: r.PostForm["category"],
			Lang: r.PostForm.Get("lang"), Return: r.PostForm.Get("return")}
	default:
		return writeError(w, http.StatusUnsupportedMediaType, "send application/json or a form")
	}

	if l, ok := strings.CutPrefix(req.Action, "lang-"); ok {
		// The banner's language buttons: no decision.
		return g.switchLang(w, r, l, req.Return)
	}
	if req.Action == "customize" {
		// The first layer's Customise without JavaScript: the second
		// layer is the settings page's, and a choice made there goes
		// back to the page (choose=1).
		to := g.cfg.Prefix + "settings?choose=1&lang=" + url.QueryEscape(g.cfg.Banner.Lang(req.Lang)) + "&return=" + url.QueryEscape(safeReturn(req.Return))
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	if req.Action == "withdraw" {
		// The settings page's form: the same as DELETE, then back.
		code, out := g.withdraw(w, r)
		if !form {
			return writeJSON(w, code, out)
		}
		ret := safeReturn(req.Return)
		if code != http.StatusOK && strings.HasPrefix(ret, g.cfg.Prefix+"settings") {
			// The settings page tells the visitor what became of it.
			status := "failed"
			if out.Pending {
				status = "pending"
			}
			sep := "?"
			if strings.Contains(ret, "?") {
				sep = "&"
			}
			ret += sep + "withdrawn=" + status
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return nil
	}
	var granted catalog.Set
	action := ""
	switch req.Action {
	case "accept-all":
		granted, action = catalog.All, store.ActionAcceptAll
		if r.Header.Get("Sec-GPC") == "1" {
			// Global Privacy Control is a refusal of marketing: only an
			// explicit switch in the second layer ("save") grants it.
			granted &^= catalog.Marketing.Bit()
		}
	case "reject-all":
		action = store.ActionRejectAll
	case "save":
		action = store.ActionCustom
		for _, c := range req.Categories {
			cat, err := catalog.ParseCategory(c)
			if err != nil {
				return writeError(w, http.StatusBadRequest, err.Error())
			}
			granted |= cat.Bit()
		}
	default:
		return writeError(w, http.StatusBadRequest, `action must be "accept-all", "reject-all", "save" or "withdraw"`)
	}

	v := g.visitor(r)
	id := v.state.ID
	if !v.known {
		id = consent.NewID()
	}
	now := consent.Now()
	lang := g.cfg.Banner.Lang(req.Lang)
	if req.Lang == "" {
		lang = v.language(g, r)
	}
	st := consent.State{ID: id, Granted: granted, Issued: now, Policy: g.policyHash,
		Lists: g.cfg.Catalog.ListsHash(granted), GPC: r.Header.Get("Sec-GPC") == "1"}
	g.setConsentCookie(w, r, st)
	// Cookies of categories now refused are deleted in the browser.
	cookies.Expire(w.Header(), r.Host, "/", g.trackerCookies(r, catalog.All&^granted))

	ret := safeReturn(req.Return)
	if req.Return == "" {
		ret = refererPath(r)
	}
	rec := store.Record{
		ID: store.NewRecordID(), ConsentID: id, Time: now, Action: action,
		Granted: names(granted), Refused: names(catalog.All &^ granted), Lang: lang,
		PolicyVersion: g.cfg.PolicyVersion, BannerHash: g.cfg.Banner.TextHash(lang),
		ListHash: g.cfg.Catalog.ListsHash(catalog.All), Path: stripQuery(ret), GPC: st.GPC,
		ClientHint: g.clientHint(r, now.UTC().Format("2006-01-02")),
	}
	g.appendRecord(r.Context(), rec)
	g.metrics.Decision(action, granted, lang)

	if form {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return nil
	}
	return writeJSON(w, http.StatusOK, consentResponse{ID: id, Categories: names(granted), PolicyVersion: g.cfg.PolicyVersion})
}

// appendRecord stores rec. The visitor's choice already holds through the
// signed cookie; a store failure is logged loudly and never fails the post.
func (g *Gateway) appendRecord(ctx context.Context, rec store.Record) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := g.cfg.Store.Append(ctx, rec); err != nil {
		g.metrics.StoreError()
		g.log.Error("consent record not stored", "record_id", rec.ID, "consent_id", rec.ConsentID, "action", rec.Action, "error", err)
	}
}

func stripQuery(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}

// refererPath is the path of a same-origin Referer, or "/".
func refererPath(r *http.Request) string {
	u, err := url.Parse(r.Header.Get("Referer"))
	if err != nil || !strings.EqualFold(u.Host, r.Host) {
		return "/"
	}
	return safeReturn(u.RequestURI())
}

func (g *Gateway) setConsentCookie(w http.ResponseWriter, r *http.Request, st consent.State) {
	http.SetCookie(w, &http.Cookie{
		Name: consent.CookieName, Value: g.codec.Encode(st), Path: "/",
		MaxAge: int(consent.MaxAge(st) / time.Second), HttpOnly: true,
		Secure: isHTTPS(r), SameSite: http.SameSiteLaxMode,
	})
}

// trackerCookies lists the cookies r carries that belong to processors of
// the categories in s.
func (g *Gateway) trackerCookies(r *http.Request, s catalog.Set) []string {
	var out []string
	for _, c := range r.Cookies() {
		if p := g.cfg.Catalog.MatchCookie(c.Name); p >= 0 && s.Has(g.cfg.Catalog.Category(p).Bit()) {
			out = append(out, c.Name)
		}
	}
	return out
}

type historyEntry struct {
	Action        string    `json:"action"`
	Categories    []string  `json:"categories"`
	Time          time.Time `json:"time"`
	Lang          string    `json:"lang,omitempty"`
	PolicyVersion string    `json:"policy_version"`
	Path          string    `json:"path,omitempty"`
	GPC           bool      `json:"gpc,omitempty"`
}

type consentView struct {
	ID            *string        `json:"id"`
	Categories    []string       `json:"categories"`
	PolicyVersion string         `json:"policy_version"`
	Decided       bool           `json:"decided"`
	History       []historyEntry `json:"history"`
}

// getConsent shows visitors their consent and its history (policy 6.2.1:
// the list of their data).
func (g *Gateway) getConsent(w http.ResponseWriter, r *http.Request) error {
	v := g.visitor(r)
	out := consentView{Categories: names(v.granted()), PolicyVersion: g.cfg.PolicyVersion, Decided: v.decided, History: []historyEntry{}}
	if v.known {
		id := v.state.ID
		out.ID = &id
		recs, err := g.cfg.Store.History(r.Context(), id)
		if err != nil {
			g.metrics.StoreError()
			g.log.Error("reading consent history failed", "consent_id", id, "error", err)
			return writeError(w, http.StatusServiceUnavailable, "consent history is unavailable right now; your choice still applies")
		}
		for _, rec := range recs {
			out.History = append(out.History, historyEntry{Action: rec.Action, Categories: nonNil(rec.Granted), Time: rec.Time,
				Lang: rec.Lang, PolicyVersion: rec.PolicyVersion, Path: rec.Path, GPC: rec.GPC})
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// deleteConsent withdraws consent and erases the visitor's records, keeping
// only a minimal proof that a withdrawal happened.
func (g *Gateway) deleteConsent(w http.ResponseWriter, r *http.Request) error {
	if !sameOrigin(r) {
		return writeError(w, http.StatusForbidden, "cross-site request refused")
	}
	if !g.limiter.allow(g.clientHint(r, "rate"), consent.Now()) {
		w.Header().Set("Retry-After", "60")
		return writeError(w, http.StatusTooManyRequests, "too many requests from this address; try again in a minute")
	}
	code, out := g.withdraw(w, r)
	return writeJSON(w, code, out)
}

// withdrawal is the answer to a withdrawal.
type withdrawal struct {
	ID         *string  `json:"id"`
	Erased     int      `json:"erased"`
	Categories []string `json:"categories"`
	Pending    bool     `json:"pending,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// withdraw withdraws the visitor's consent — the cookies go at once,
// whatever the store says — and erases their records; the settings
// page's form (a POST) and DELETE share it.
func (g *Gateway) withdraw(w http.ResponseWriter, r *http.Request) (int, withdrawal) {
	http.SetCookie(w, &http.Cookie{Name: consent.CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: isHTTPS(r), SameSite: http.SameSiteLaxMode})
	cookies.Expire(w.Header(), r.Host, "/", g.trackerCookies(r, catalog.All))
	v := g.visitor(r)
	out := withdrawal{Categories: []string{}}
	if !v.known {
		return http.StatusOK, out
	}
	id := v.state.ID
	out.ID = &id
	proof := store.Record{ID: store.NewRecordID(), ConsentID: store.ConsentIDHash(id), Time: consent.Now(),
		Action: store.ActionWithdraw, PolicyVersion: g.cfg.PolicyVersion}
	n, err := g.cfg.Store.Erase(r.Context(), id, proof)
	switch {
	case errors.Is(err, store.ErrErasePending):
		// Kept in the spool, carried out when the store is back.
		g.metrics.Decision(store.ActionWithdraw, 0, v.language(g, r))
		out.Pending = true
		return http.StatusAccepted, out
	case err != nil:
		// The cookie is gone with the withdrawal: the visitor cannot ask
		// again, so the log must say which ID to erase by hand.
		g.metrics.StoreError()
		g.log.Error("erasing consent records failed; erase them by hand", "consent_id", id, "error", err)
		out.Error = "your consent is withdrawn, but your records could not be erased right now; the site's operator has been told"
		return http.StatusServiceUnavailable, out
	}
	out.Erased = n
	g.metrics.Decision(store.ActionWithdraw, 0, v.language(g, r))
	return http.StatusOK, out
}

// serveBanner returns the banner's second layer (for the script to show
// it in place: Customise, reopening) or,
// as "settings", the settings page (settings.go).
func (g *Gateway) serveBanner(w http.ResponseWriter, r *http.Request, page bool) error {
	v := g.visitor(r)
	lang := v.language(g, r)
	if l := r.URL.Query().Get("lang"); l != "" {
		lang = g.cfg.Banner.Lang(l)
	}
	ret := safeReturn(r.URL.Query().Get("return"))
	if r.URL.Query().Get("return") == "" {
		ret = refererPath(r)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if page {
		_, err := w.Write(g.settingsPage(r, v, lang, ret))
		return err
	}
	// Absolute: the script puts this in a page whose <base href> may
	// point elsewhere.
	_, err := w.Write(g.cfg.Banner.Choices(lang, v.granted(), ret, "//"+r.Host, false, v.gpc))
	return err
}

// isHTTPS reports whether the visitor reached the site over TLS, directly
// or through a TLS-terminating load balancer (a forged header only makes
// the cookie stricter).
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// setLang is the banner's language switch: it remembers the choice in a
// cookie and sends the visitor back to the page (same origin only), which
// then speaks that language. It works without JavaScript.
func (g *Gateway) setLang(w http.ResponseWriter, r *http.Request) error {
	return g.switchLang(w, r, r.URL.Query().Get("l"), r.URL.Query().Get("return"))
}

// switchLang sets the language cookie to l and sends the visitor back to
// return (or where they came from): the banner's language buttons post
// it with the banner's form (action "lang-<l>"), a link may GET it.
func (g *Gateway) switchLang(w http.ResponseWriter, r *http.Request, l, returnPath string) error {
	if g.cfg.Banner.Lang(l) != l {
		return writeError(w, http.StatusBadRequest, "unknown language")
	}
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
		Secure: isHTTPS(r), SameSite: http.SameSiteLaxMode})
	ret := safeReturn(returnPath)
	if returnPath == "" {
		ret = refererPath(r)
	}
	// The settings page, asked for in a language (?lang=), comes back in
	// the one chosen now; a site's own pages keep their query as it is.
	if u, err := url.Parse(ret); err == nil && strings.HasPrefix(ret, g.cfg.Prefix+"settings") && u.Query().Has("lang") {
		q := u.Query()
		q.Set("lang", l)
		u.RawQuery = q.Encode()
		ret = u.String()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, ret, http.StatusSeeOther)
	return nil
}
