// Kelisim client, second part: the banner's actions — posting the
// visitor's choice, bringing neutralised elements back in place, the
// reopened banner, placeholders. kelisim.js (the guard, first in <head>)
// loads it when the visitor first reaches for the banner, so a page view
// carries only the guard; it calls kelisimUI once with its own state:
// k.granted()/k.grant(bits) read and set the consent the guard enforces.
window.kelisimUI = function (k) {
  "use strict";
  var d = document, w = window, P = k.P, lang = k.lang, cfg = k.cfg, sa = k.sa, MOVED = k.moved;
  var bits = k.bits, catNames = k.catNames, f0 = k.fetch;
  function allowed(b) { return (k.granted() & b) === b; }
  // Bringing neutralised elements back. Source sets go first, so a
  // preload or image picks its candidate before any href or src is there
  // to fetch; XLink attributes go back into their namespace.
  var ORDER = MOVED.filter(function (a) { return /srcset/.test(a); }).concat(MOVED.filter(function (a) { return !/srcset/.test(a); }));
  function restore(el) {
    ORDER.forEach(function (a) {
      if (el.hasAttribute("data-" + a)) {
        var v = el.getAttribute("data-" + a);
        el.removeAttribute("data-" + a);
        if (/^xlink:/.test(a)) el.setAttributeNS("http://www.w3.org/1999/xlink", a, v);
        else if (!(el.localName === "script" && a === "type")) sa.call(el, a, v);
      }
    });
    for (var i = el.attributes.length - 1; i >= 0; i--) {
      var n = el.attributes[i].name;
      if (n.indexOf("data-consent-") === 0 && n !== "data-consent-category" && n !== "data-consent-processor") {
        sa.call(el, "data-" + n.slice(13), el.attributes[i].value);
        el.removeAttribute(n);
      }
    }
    el.removeAttribute("data-consent-category");
    el.removeAttribute("data-consent-processor");
  }
  function enable(el) {
    if (el.localName !== "script") {
      if (el.tagName === "IFRAME") el.removeAttribute("srcdoc");
      if (el.tagName === "STYLE") el.removeAttribute("type"); // a data-type comes back in restore
      restore(el);
      // A media element chose its source when it was parsed: again.
      var media = el.parentNode;
      if (el.tagName === "SOURCE" && media && media.load) media.load();
      return Promise.resolve();
    }
    var type = el.getAttribute("data-type");
    // An SVG script comes back an SVG script.
    var s = el.hasAttribute("data-consent-style") ? d.createElement("style") : d.createElementNS(el.namespaceURI, "script");
    for (var i = 0; i < el.attributes.length; i++) {
      var a = el.attributes[i];
      if (a.name !== "type" && a.name !== "data-consent-style") sa.call(s, a.name, a.value);
    }
    if (type) sa.call(s, "type", type);
    if (el.nonce) s.nonce = el.nonce; // the attribute reads empty once applied
    restore(s);
    if (type) sa.call(s, "type", type);
    s.textContent = el.textContent;
    var wait = s.src && !el.hasAttribute("async") && !el.hasAttribute("defer");
    var p = new Promise(function (ok) {
      if (!wait) return ok();
      s.onload = s.onerror = function () { ok(); };
      setTimeout(ok, 4000);
    });
    if (s.src) s.async = el.hasAttribute("async");
    if (!el.parentNode) return Promise.resolve(); // removed by the page meanwhile
    el.parentNode.replaceChild(s, el);
    return p;
  }
  // held lists the neutralised elements under root: in its shadow roots
  // (declarative ones included), its templates' content (cloned later,
  // they come out live) and its srcdoc frames (same origin, no client of
  // their own) too.
  function held(root, out) {
    [].forEach.call(root.querySelectorAll("[data-consent-category]"), function (el) { out.push(el); });
    [].forEach.call(root.querySelectorAll("*"), function (el) {
      if (el.shadowRoot) held(el.shadowRoot, out);
      if (el.tagName === "TEMPLATE") held(el.content, out);
      if (el.tagName === "IFRAME" && el.hasAttribute("srcdoc") && !el.hasAttribute("data-consent-category")) {
        try { held(el.contentDocument, out); } catch (e) {}
      }
    });
    return out;
  }
  function activate(only) {
    var els = only ? [only] : held(d, []);
    var chain = Promise.resolve();
    [].forEach.call(els, function (el) {
      if (el.closest && el.closest("[data-consent-banner]")) return;
      if (!only && !allowed(bits(el.getAttribute("data-consent-category")))) return;
      chain = chain.then(function () { return enable(el); });
    });
    return chain;
  }

  // The banner.
  function banner() { return d.querySelector("[data-consent-banner]"); }
  function post(action, cats) {
    return f0(P + "consent", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ action: action, categories: cats, lang: lang })
    }).then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); });
  }
  function decided(res) {
    var before = k.granted(), granted = bits((res.categories || []).join(" "));
    k.grant(granted);
    if (cfg.gcm) w.gtag("consent", "update", k.gcmState());
    w.dispatchEvent(new CustomEvent("kelisim:consent", { detail: res }));
    if (before & ~granted || cfg.settings) {
      // A category was withdrawn: scripts already running can only be
      // stopped by loading the page again, now without them. The
      // settings page shows the new choice and history so.
      location.reload();
      return;
    }
    var b = banner();
    if (b) {
      var label = b.getAttribute("data-reopen");
      // No data-reopen: the site reopens the choices itself (reopen off).
      if (label && !d.querySelector("[data-consent-reopen]")) {
        var r = d.createElement("a");
        r.className = "kl-reopen";
        r.href = P + "settings";
        sa.call(r, "data-consent-reopen", "");
        sa.call(r, "aria-label", label);
        r.title = label;
        d.body.appendChild(r);
      }
      b.parentNode.removeChild(b);
    }
    first = null;
    activate();
  }
  function choose(action, form, extra, btn) {
    var cats = [];
    if (action === "save" && form) {
      var boxes = form.querySelectorAll("input[name=category]:checked");
      for (var i = 0; i < boxes.length; i++) cats.push(boxes[i].value);
    }
    if (extra) { cats = catNames(k.granted() | bits(extra)).split(" "); action = "save"; }
    if (!f0) { return false; }
    if (posting) return true; // a double click decides once
    posting = true;
    post(action, cats).then(function (res) { posting = false; decided(res); }, function () {
      posting = false;
      // Without the API, the plain form post still works.
      if (form && btn && form.requestSubmit) form.requestSubmit(btn);
      else if (form) form.submit();
    });
    return true;
  }
  var posting = false;
  // The second layer comes from the gateway (without JavaScript it is
  // the settings page's) and takes the banner's place; first keeps the
  // first layer meanwhile, for Escape to bring back.
  var first = null;
  function secondLayer() {
    var ret = "return=" + encodeURIComponent(location.pathname + location.search);
    return f0(P + "banner?lang=" + encodeURIComponent(lang) + "&" + ret, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var box = d.createElement("div");
        box.innerHTML = html;
        return box.firstElementChild;
      });
  }
  // show puts the second layer in place of old (the first layer), or
  // first in the page (reopened), with a button that leaves it.
  function show(layer, old) {
    var x = d.createElement("button");
    x.type = "button";
    x.className = "kl-x";
    sa.call(x, "aria-label", layer.getAttribute("data-close"));
    x.onclick = function () { leave(layer); };
    layer.insertBefore(x, layer.firstChild);
    if (old) old.parentNode.replaceChild(layer, old); else d.body.insertBefore(layer, d.body.firstChild);
    var sw = layer.querySelector("[role=switch]:not([disabled])");
    if (sw) sw.focus();
  }
  // leave closes the second layer without deciding: back to the first
  // (focus on Customise), or, reopened, away (focus on the reopen
  // button).
  function leave(layer) {
    var back = first ? first.querySelector("[data-consent-action=customize]") : d.querySelector("[data-consent-reopen]");
    if (first) layer.parentNode.replaceChild(first, layer); else layer.parentNode.removeChild(layer);
    first = null;
    if (back) back.focus();
  }
  function customize(btn) {
    var b = banner();
    if (!b || b.querySelector("[role=switch]")) return;
    secondLayer().then(function (layer) { first = b; show(layer, b); }, function () {
      // The plain form post leads to the settings page.
      if (btn.form.requestSubmit) btn.form.requestSubmit(btn); else btn.form.submit();
    });
  }
  function reopen() {
    if (!f0) { location.href = P + "settings?return=" + encodeURIComponent(location.pathname + location.search); return; }
    if (banner()) return;
    secondLayer().then(function (layer) { show(layer, null); });
  }
  // Escape leaves a second layer shown in place; the settings page's
  // stays.
  d.addEventListener("keydown", function (e) {
    var b = e.key === "Escape" && e.target.closest && e.target.closest("[data-consent-banner]");
    if (b && b.querySelector(".kl-x")) leave(b);
  });
  // click acts on a banner control or reopen link t the guard passed on.
  function click(t) {
    var act = t.getAttribute("data-consent-action");
    if (act === "customize") customize(t);
    else if (act) choose(act, t.form, null, t);
    else reopen();
  }
  // Placeholders of blocked iframes live in their srcdoc (same origin).
  function wirePlaceholder(fr) {
    var doc;
    try { doc = fr.contentDocument; } catch (e) { return; }
    if (!doc || !doc.body) return;
    doc.addEventListener("click", function (e) {
      var b = e.target.closest && e.target.closest("button");
      if (!b) return;
      e.preventDefault();
      if (b.hasAttribute("data-consent-load-once")) { activate(fr); return; }
      choose("save", null, b.value === "save" ? fr.getAttribute("data-consent-category") : b.value);
    });
  }
  function wireAll() {
    var frs = d.querySelectorAll("iframe[data-consent-category][srcdoc]");
    [].forEach.call(frs, function (fr) {
      if (fr.contentDocument && fr.contentDocument.readyState === "complete") wirePlaceholder(fr);
      fr.addEventListener("load", function () { if (fr.hasAttribute("srcdoc")) wirePlaceholder(fr); });
    });
  }
  return { click: click, choose: choose, reopen: reopen, wireAll: wireAll, decided: decided };
};
