// The query page with JavaScript: YASGUI talking to this node's /sparql,
// every third-party request off (no prefix.cc, no LOV vocabulary look-ups,
// no CORS proxy, no link shortener). Without JavaScript the plain form works.
"use strict";
(function () {
  if (typeof Yasgui === "undefined") return;
  var plain = document.getElementById("plain");
  var area = document.getElementById("query");
  var holder = document.getElementById("yasgui");
  var endpoint = window.location.origin + "/sparql";
  // Only the completer that reads the query itself.
  if (Yasgui.Yasqe && Yasgui.Yasqe.defaults) Yasgui.Yasqe.defaults.autocompleters = ["variables"];
  var yasgui = new Yasgui(holder, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    copyEndpointOnNewTab: true,
    corsProxy: undefined,
    populateFromUrl: false,
    persistenceId: null,
    yasqe: { autocompleters: ["variables"], createShareableLink: null, showQueryButton: true },
    yasr: { prefixes: {} }
  });
  // Accessibility fixes to YASGUI's widgets (axe-core, WCAG 2.1 AA), applied
  // again whenever it redraws: names for its fields, its "new tab" button out
  // of the tab list (a tablist holds tabs only), the editor's scroll area
  // reachable by keyboard. The names are the page's, in its language (the
  // holder's data-label-* attributes). Colours are fixed in style.css.
  function name(selector, label) {
    holder.querySelectorAll(selector).forEach(function (el) {
      if (!el.hasAttribute("aria-label")) el.setAttribute("aria-label", label);
    });
  }
  var labels = holder.dataset;
  function fix() {
    name("input.autocomplete", labels.labelEndpoint || "SPARQL endpoint");
    name("select.tableSizer", labels.labelRows || "Rows per page");
    name("input.tableFilter", labels.labelFilter || "Filter the results");
    name(".CodeMirror textarea", labels.labelQuery || "SPARQL query");
    holder.querySelectorAll(".tabsList .addTab").forEach(function (button) {
      var list = button.closest(".tabsList");
      var wrapper = button.parentNode === list ? button : button.parentNode;
      wrapper.className += " addTabBox";
      list.parentNode.insertBefore(wrapper, list.nextSibling);
    });
    holder.querySelectorAll(".CodeMirror-scroll").forEach(function (el) {
      if (el.getAttribute("tabindex") !== "0") el.setAttribute("tabindex", "0");
    });
  }
  new MutationObserver(fix).observe(holder, { childList: true, subtree: true });
  fix();
  holder.hidden = false;
  plain.hidden = true;
  var tab = yasgui.getTab();
  if (area.value.trim() !== "") {
    tab.setQuery(area.value);
    tab.query();
  }
  document.querySelectorAll("a.example").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var text = new URL(link.href).searchParams.get("query");
      if (text === null) return;
      event.preventDefault();
      var current = yasgui.getTab();
      current.setQuery(text);
      current.query();
      holder.scrollIntoView();
    });
  });
  window.ccisYasgui = yasgui;
})();
