// /docs: swagger-ui over /openapi.json (served from this server; no CDN).
"use strict";
window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#reference",
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  tryItOutEnabled: false,
  // The bundle's default checks the document against an online validator: no network is assumed.
  validatorUrl: null,
});
