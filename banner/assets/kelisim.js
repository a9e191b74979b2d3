// Kelisim client: guards against trackers injected at run time, posts the
// visitor's choice and brings neutralised elements back in place, in
// document order, without a reload. Loaded synchronously first in <head>,
// so its guards are in place before any page script (and before Google Tag
// Manager) runs. /*RULES*/ is replaced at start-up by the catalog's URL
// rules: [[host, pathPrefix, categoryBits], ...] and the necessary hosts;
// /*FETCHING*/ and /*SRCSET*/ by the table of elements that
// fetch URLs (package fetching), the one the rewriter and scan use.
(function () {
  "use strict";
  var d = document, w = window;
  var me = d.currentScript;
  var cfg = me ? me.dataset : {};
  // Absolute: a page's <base href> must not send the visitor's choice
  // elsewhere.
  var P = new URL(cfg.prefix || "/_consent/", location.href).href;
  var lang = cfg.lang || d.documentElement.lang || "kk";
  // R: [[functional], [analytics], [marketing], [necessary]] patterns,
  // "host" or "host/path-prefix".
  // Each pattern is split once into [host, path prefix].
  var R = /*RULES*/["", "", "", ""].map(function (l) { return l ? l.split(" ").map(split) : []; });
  function split(e) { var i = e.search(/[\/?]/); return i < 0 ? [e, ""] : [e.slice(0, i), e[i] === "?" ? "/" + e.slice(i) : e.slice(i)]; }
  function onHost(h, host) { return h === host || h.slice(-host.length - 1) === "." + host; }
  var NAMES = ["functional", "analytics", "marketing"];
  function bits(cats) {
    var b = 0;
    (cats || "").split(" ").forEach(function (c) { var i = NAMES.indexOf(c); if (i >= 0) b |= 1 << i; });
    return b;
  }
  var granted = bits(cfg.granted);
  function allowed(b) { return (granted & b) === b; }
  function catNames(b) { return NAMES.filter(function (_, i) { return b & (1 << i); }).join(" "); }

  // classify returns the category bits of the processor owning url, 0 if none.
  function classify(url) {
    var u;
    try { u = new URL(url, location.href); } catch (e) { return 0; }
    if (u.host === location.host || !/^(https?|wss?):$/.test(u.protocol)) return 0;
    var h = u.hostname.replace(/\.$/, ""), pq = u.pathname + u.search;
    var n, c, best = -1, cat = 0, bestHost = 0;
    for (n = 0; n < R[3].length; n++) {
      if (onHost(h, R[3][n][0]) && pq.indexOf(R[3][n][1]) === 0) return 0;
    }
    // The most specific host wins, then the longest path prefix.
    for (c = 0; c < 3; c++) {
      for (n = 0; n < R[c].length; n++) {
        var e = R[c][n];
        if (onHost(h, e[0]) && pq.indexOf(e[1]) === 0 &&
            (e[0].length > bestHost || (e[0].length === bestHost && e[1].length > best))) {
          bestHost = e[0].length; best = e[1].length; cat = 1 << c;
        }
      }
    }
    return cat;
  }
  function blocked(url) { var c = classify(url); return c && !allowed(c) ? c : 0; }
  function blockedSet(srcset) {
    var c = 0;
    srcset.split(",").forEach(function (part) { var u = part.trim().split(/\s+/)[0]; if (u) c |= blocked(u); });
    return c;
  }

  // Queue stubs, shaped like the vendors' own, so a site script that
  // calls ym(...) or gtag(...) runs before consent instead of throwing;
  // the calls wait in the queue that the vendor's script reads once
  // consent loads it (and never leave the page otherwise).
  w.dataLayer = w.dataLayer || [];
  w.gtag = w.gtag || function () { w.dataLayer.push(arguments); };
  w.ym = w.ym || function () { (w.ym.a = w.ym.a || []).push(arguments); };
  w.ym.l = w.ym.l || 1 * new Date();

  // Google Consent Mode v2: the default, before any Google tag runs (this
  // script is the first in <head>), from the visitor's current consent.
  function gcmState() {
    var g = function (b) { return allowed(b) ? "granted" : "denied"; };
    return {
      ad_storage: g(4), ad_user_data: g(4), ad_personalization: g(4),
      analytics_storage: g(2), functionality_storage: g(1), personalization_storage: g(1),
      security_storage: "granted"
    };
  }
  if (cfg.gcm) {
    var def = gcmState();
    if (cfg.decided !== "1") def.wait_for_update = 500;
    w.gtag("consent", "default", def);
  }

  // Guards: elements and requests created by scripts at run time.
  var sa = Element.prototype.setAttribute;
  // FETCH: upper-case tag name (SVG's are lower- or camel-case: upper-cased
  // before the look-up) to the attributes it fetches URLs through; SRCSET:
  // those of them holding a srcset list.
  var FETCH = /*FETCHING*/{}, SRCSET = /*SRCSET*/[];
  function urlAttrs(el) { return FETCH[el.tagName.toUpperCase()] || []; }
  // park keeps URL (or srcset list) v of attribute a of el as data-a, out
  // of the browser's reach, when a processor not consented to owns it,
  // with the categories that bring it back. It reports whether it did.
  function park(el, a, v) {
    var c = urlAttrs(el).indexOf(a) >= 0 && (SRCSET.indexOf(a) < 0 ? blocked : blockedSet)(String(v));
    if (c) {
      sa.call(el, "data-" + a, v);
      sa.call(el, "data-consent-category", catNames(c));
      if (el.tagName === "SCRIPT") sa.call(el, "type", "text/plain");
    }
    return c;
  }
  // hold parks the URLs el already has; a script's own type is kept as
  // data-type (read first: park overwrites it).
  function hold(el) {
    if (!el || el.nodeType !== 1) return;
    var type = el.getAttribute("type");
    urlAttrs(el).forEach(function (a) {
      var v = el.getAttribute(a);
      if (v && park(el, a, v)) {
        if (el.tagName === "SCRIPT" && type) sa.call(el, "data-type", type);
        el.removeAttribute(a);
      }
    });
  }
  function guardTree(n) {
    hold(n);
    if (n && n.firstElementChild && n.querySelectorAll) [].forEach.call(n.querySelectorAll(SEL), hold);
  }
  ["appendChild", "insertBefore", "replaceChild"].forEach(function (m) {
    var orig = Node.prototype[m];
    Node.prototype[m] = function (n) { guardTree(n); return orig.apply(this, arguments); };
  });
  ["append", "prepend", "before", "after", "replaceWith", "replaceChildren"].forEach(function (m) {
    [Element.prototype, DocumentFragment.prototype].forEach(function (proto) {
      var orig = proto[m];
      if (!orig) return;
      proto[m] = function () { for (var i = 0; i < arguments.length; i++) guardTree(arguments[i]); return orig.apply(this, arguments); };
    });
  });
  var iae = Element.prototype.insertAdjacentElement;
  Element.prototype.insertAdjacentElement = function (pos, el) { guardTree(el); return iae.call(this, pos, el); };
  // The properties of the same names (img.src, img.srcset, link.href,
  // video.poster, object.data…), on whichever prototype has each (not
  // link.imageSrcset, named otherwise); SEL, built on the way, finds an
  // element with any of the attributes in a tree (xlink:href in any
  // namespace).
  // MOVED, built on the way too: every attribute the rewriter or the guard
  // may have renamed data-<name>.
  var SEL = [], MOVED = ["type", "style", "action"];
  for (var t in FETCH) FETCH[t].forEach(function (a) {
    setter(d.createElement(t), a, function (o, el, v) { park(el, a, v) || o.call(el, v); });
    if (MOVED.indexOf(a) < 0) {
      MOVED.push(a);
      SEL.push("[" + a.replace("xlink:", "*|") + "]");
    }
  });
  SEL = SEL.join();
  Element.prototype.setAttribute = function (n, v) {
    if (!park(this, String(n).toLowerCase(), v)) return sa.call(this, n, v);
  };
  // HTML strings (innerHTML, insertAdjacentHTML, outerHTML) are parsed in
  // an inert <template> first, where nothing loads, and guarded there.
  // Only strings that could hold an element of a processor are parsed
  // again; raw-text contexts (script, style…), SVG/MathML and Trusted
  // Types values pass as they are.
  var RAW = { SCRIPT: 1, STYLE: 1, TEXTAREA: 1, XMP: 1, NOEMBED: 1, NOFRAMES: 1, IFRAME: 1, TITLE: 1, NOSCRIPT: 1 };
  function guardHTML(html, ctx) {
    if (typeof html !== "string" || html.indexOf("<") < 0) return html;
    if (ctx && (RAW[ctx.tagName] || !(ctx instanceof HTMLElement))) return html;
    var t = d.createElement("template");
    ih.set.call(t, html);
    if (!t.content.querySelector(SEL)) return html;
    guardTree(t.content);
    return t.innerHTML;
  }
  // setter wraps the setter of property prop of o, on the prototype that
  // has it: set(orig, this, v).
  function setter(o, prop, set) {
    var desc;
    while (o && !(desc = Object.getOwnPropertyDescriptor(o, prop))) o = Object.getPrototypeOf(o);
    if (!desc || !desc.set) return desc;
    Object.defineProperty(o, prop, {
      configurable: true, enumerable: desc.enumerable, get: desc.get,
      set: function (v) { return set(desc.set, this, v); }
    });
    return desc;
  }
  var ih = setter(Element.prototype, "innerHTML", function (o, el, v) { o.call(el, el.tagName === "TEMPLATE" ? v : guardHTML(v, el)); });
  setter(Element.prototype, "outerHTML", function (o, el, v) { o.call(el, guardHTML(v, el.parentElement)); });
  var iah = Element.prototype.insertAdjacentHTML;
  Element.prototype.insertAdjacentHTML = function (pos, html) {
    var inside = pos === "afterbegin" || pos === "beforeend";
    return iah.call(this, pos, guardHTML(html, inside ? this : this.parentElement));
  };
  if (w.ShadowRoot) setter(ShadowRoot.prototype, "innerHTML", function (o, el, v) { o.call(el, guardHTML(v, null)); });
  if (w.Range && Range.prototype.createContextualFragment) {
    var ccf = Range.prototype.createContextualFragment;
    Range.prototype.createContextualFragment = function (html) { return ccf.call(this, guardHTML(html, null)); };
  }
  // document.write after the page has loaded would replace the whole page
  // (a re-activated LiveInternet counter does it): insert the HTML where
  // the writing script stands instead.
  var dw = d.write, dwl = d.writeln;
  function write(html, nl) {
    html = html + (nl ? "\n" : "");
    // While the page loads, write as the browser would (pieces of a tag
    // may come in separate calls).
    if (d.readyState === "loading") return dw.call(d, html);
    var t = d.createElement("template");
    ih.set.call(t, guardHTML(html, null));
    // Scripts in written HTML run when written; parsed ones would not.
    var ss = t.content.querySelectorAll("script");
    for (var i = 0; i < ss.length; i++) {
      var s = d.createElement("script");
      for (var j = 0; j < ss[i].attributes.length; j++) sa.call(s, ss[i].attributes[j].name, ss[i].attributes[j].value);
      s.text = ss[i].text;
      ss[i].parentNode.replaceChild(s, ss[i]);
    }
    var at = d.currentScript;
    if (at && at.parentNode) at.parentNode.insertBefore(t.content, at);
    else if (d.body) d.body.appendChild(t.content);
  }
  d.write = function () { write([].join.call(arguments, ""), false); };
  d.writeln = function () { write([].join.call(arguments, ""), true); };
  if (navigator.sendBeacon) {
    var sb = navigator.sendBeacon;
    navigator.sendBeacon = function (u) { return blocked(u) ? false : sb.apply(navigator, arguments); };
  }
  if (w.fetch) {
    var f = w.fetch;
    w.fetch = function (u) {
      var url = u && u.url ? u.url : String(u);
      return blocked(url) ? Promise.reject(new TypeError("blocked until consent")) : f.apply(w, arguments);
    };
  }
  var xo = XMLHttpRequest.prototype.open, xs = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (m, u) {
    this._kelisimBlocked = !!blocked(String(u));
    return xo.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () { if (!this._kelisimBlocked) return xs.apply(this, arguments); };

  // Bringing neutralised elements back.
  function restore(el) {
    MOVED.forEach(function (a) {
      if (el.hasAttribute("data-" + a)) {
        var v = el.getAttribute("data-" + a);
        el.removeAttribute("data-" + a);
        if (!(el.tagName === "SCRIPT" && a === "type")) sa.call(el, a, v);
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
    if (el.tagName !== "SCRIPT") {
      if (el.tagName === "IFRAME") el.removeAttribute("srcdoc");
      if (el.tagName === "STYLE") el.removeAttribute("type"); // a data-type comes back in restore
      restore(el);
      return Promise.resolve();
    }
    var type = el.getAttribute("data-type");
    var s = d.createElement(el.hasAttribute("data-consent-style") ? "style" : "script");
    for (var i = 0; i < el.attributes.length; i++) {
      var a = el.attributes[i];
      if (a.name !== "type" && a.name !== "data-consent-style") sa.call(s, a.name, a.value);
    }
    if (type) sa.call(s, "type", type);
    if (el.nonce) s.nonce = el.nonce; // the attribute reads empty once applied
    restore(s);
    if (type) sa.call(s, "type", type);
    s.textContent = el.text;
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
  function activate(only) {
    var els = only ? [only] : d.querySelectorAll("[data-consent-category]");
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
  var f0 = w.fetch ? f : null;
  function decided(res) {
    var before = granted;
    granted = bits((res.categories || []).join(" "));
    if (cfg.gcm) w.gtag("consent", "update", gcmState());
    w.dispatchEvent(new CustomEvent("kelisim:consent", { detail: res }));
    if (before & ~granted) {
      // A category was withdrawn: scripts already running can only be
      // stopped by loading the page again, now without them.
      location.reload();
      return;
    }
    var b = banner();
    if (b) {
      if (!d.querySelector("[data-consent-reopen]")) {
        var r = d.createElement("a"), label = b.getAttribute("data-reopen");
        r.className = "kl-reopen";
        r.href = P + "settings";
        sa.call(r, "data-consent-reopen", "");
        sa.call(r, "aria-label", label);
        r.title = label;
        d.body.appendChild(r);
      }
      b.parentNode.removeChild(b);
    }
    activate();
  }
  function choose(action, form, extra, btn) {
    var cats = [];
    if (action === "save" && form) {
      var boxes = form.querySelectorAll("input[name=category]:checked");
      for (var i = 0; i < boxes.length; i++) cats.push(boxes[i].value);
    }
    if (extra) { cats = catNames(granted | bits(extra)).split(" "); action = "save"; }
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
  // Escape closes the second layer without deciding, focus back on its
  // summary.
  d.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var det = e.target.closest && e.target.closest("[data-consent-banner] details[open]");
    if (!det) return;
    det.open = false;
    det.querySelector("summary").focus();
  });
  d.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target.closest("[data-consent-action],a[href='#consent-settings'],[data-consent-reopen]") : null;
    if (!t) return;
    var act = t.getAttribute("data-consent-action");
    if (!act) { e.preventDefault(); reopen(); return; }
    if (act === "customize") return; // <details> opens natively
    if (choose(act, t.form, null, t)) e.preventDefault();
  });
  function reopen() {
    var ret = "return=" + encodeURIComponent(location.pathname + location.search);
    if (banner() || !f0) { if (!f0) location.href = P + "settings?" + ret; return; }
    f0(P + "banner?lang=" + encodeURIComponent(lang) + "&" + ret, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        d.body.insertAdjacentHTML("afterbegin", html);
        var b = banner(), det = b && b.querySelector("details");
        if (det) det.open = true;
        var first = b && b.querySelector("button,input:not([disabled])");
        if (first) first.focus();
      });
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
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", wireAll); else wireAll();
  w.kelisim = { consent: function () { return catNames(granted).split(" ").filter(Boolean); }, open: reopen, choose: choose };
})();
