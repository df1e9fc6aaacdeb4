// Start Swagger UI on the API documentation page (/api/docs), from files served by Backstory.
// No inline script: the CSP allows scripts from 'self' only. Nothing is fetched from another
// site: the online validator badge is off, and the OpenAPI document is this server's own.
(function () {
  "use strict";
  function start() {
    var root = document.getElementById("swagger-ui");
    var SwaggerUIBundle = window.SwaggerUIBundle;
    if (!root || typeof SwaggerUIBundle !== "function") { return; }
    window.ui = SwaggerUIBundle({
      url: root.getAttribute("data-openapi-url"),
      domNode: root,
      layout: "BaseLayout",
      presets: [SwaggerUIBundle.presets.apis],
      deepLinking: true,
      validatorUrl: null,
      persistAuthorization: false,
      displayRequestDuration: true
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
