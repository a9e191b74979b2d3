/* NLG.KZ — the site's own script. No dependencies: it uses jQuery or Day.js
   only when the page has loaded them, and does nothing with #consent-settings
   links (those belong to the consent banner). */
(function () {
  'use strict';

  var doc = document;
  var root = doc.documentElement;
  root.classList.add('js');

  // Mobile menu.
  var toggle = doc.querySelector('.nav-toggle');
  var nav = doc.getElementById('site-nav');
  if (toggle && nav) {
    toggle.addEventListener('click', function () {
      var open = toggle.getAttribute('aria-expanded') === 'true';
      toggle.setAttribute('aria-expanded', String(!open));
      nav.classList.toggle('is-open', !open);
    });
  }

  // Language choice: remember it in the first-party cookie nlg_lang.
  function rememberLang(lang) {
    if (!/^(kk|ru)$/.test(lang)) return;
    var secure = location.protocol === 'https:' ? '; Secure' : '';
    doc.cookie = 'nlg_lang=' + lang + '; Path=/; Max-Age=31536000; SameSite=Lax' + secure;
  }
  Array.prototype.forEach.call(doc.querySelectorAll('a[data-lang]'), function (link) {
    link.addEventListener('click', function () {
      rememberLang(link.getAttribute('data-lang'));
    });
  });

  // News pages: "2 weeks ago" next to each date, when Day.js (jsDelivr) loaded.
  var dayjs = window.dayjs;
  if (typeof dayjs === 'function' && window.dayjs_plugin_relativeTime) {
    dayjs.extend(window.dayjs_plugin_relativeTime);
    var locale = root.lang === 'ru' ? 'ru' : 'kk';
    Array.prototype.forEach.call(doc.querySelectorAll('[data-ago]'), function (el) {
      var d = dayjs(el.getAttribute('data-ago'));
      if (d.isValid()) el.textContent = '· ' + d.locale(locale).fromNow();
    });
  }

  // Home page: smooth scrolling for in-page buttons, when jQuery loaded.
  var $ = window.jQuery;
  if (typeof $ === 'function') {
    $(doc).on('click', 'a.js-scroll', function (e) {
      var id = this.getAttribute('href');
      var target = id && id.charAt(0) === '#' ? doc.getElementById(id.slice(1)) : null;
      if (!target) return;
      e.preventDefault();
      var reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
      $('html, body').animate({ scrollTop: $(target).offset().top - 80 }, reduce ? 0 : 400, function () {
        if (history.replaceState) history.replaceState(null, '', id);
      });
    });
  }
})();
