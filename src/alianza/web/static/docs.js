// The API reference page: Swagger UI on the app's OpenAPI document (its address is in the
// page's data-openapi-url, so that no inline script is needed).
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") return;
  window.SwaggerUIBundle({ url: root.dataset.openapiUrl, dom_id: "#swagger-ui", deepLinking: true });
})();
