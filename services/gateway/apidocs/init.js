// Starts the API reference on /docs. Everything it loads comes from this
// gateway: the bundle (/docs/scalar.js), the document (/v1/openapi.json), and
// "try it" requests, which go to the origin the page was served from, so the
// page works on whatever address and port the gateway listens on. Features
// that would reach Scalar's own services (fonts, telemetry, the AI agent,
// MCP, the request proxy) are off; the page's Content-Security-Policy would
// block them anyway. The pasted key stays in the page's memory only.
'use strict';
Scalar.createApiReference('#app', {
  url: '/v1/openapi.json',
  servers: [{ url: window.location.origin, description: 'this gateway' }],
  authentication: { preferredSecurityScheme: 'bearerAuth' },
  persistAuth: false,
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  mcp: { disabled: true },
  showDeveloperTools: 'never',
  documentDownloadType: 'json',
  hideClientButton: false,
  operationTitleSource: 'summary',
});
