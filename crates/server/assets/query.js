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
