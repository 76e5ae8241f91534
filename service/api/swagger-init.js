// The API docs at /schema/swagger: Swagger UI on this service's own schema. Loaded as a file (the page's
// Content-Security-Policy allows no inline script); nothing is fetched from another site (no validator).
"use strict";

window.addEventListener("DOMContentLoaded", () => {
  const container = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: container.dataset.schema,
    domNode: container,
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
  });
});
