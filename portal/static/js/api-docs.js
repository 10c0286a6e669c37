// The API reference page (/api/v1/docs): starts the vendored Swagger UI on the OpenAPI document
// named by the page (data-spec-url). A file of its own: the Content-Security-Policy allows no
// inline script.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    filter: true,
    persistAuthorization: false,
    tryItOutEnabled: false,
    validatorUrl: null, // never ask validator.swagger.io (another origin)
    layout: "BaseLayout",
  });
});
