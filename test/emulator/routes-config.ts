// /v2/config: a per-user, per-OAuth-app key/value store.
import { badRequest } from "./http-util";
import { Ctx, Route, route } from "./router";

function store(ctx: Ctx): Record<string, unknown> {
  const user = ctx.user;
  const appId = ctx.tokenRecord?.appId ?? 0;
  let config = user.config.get(appId);
  if (!config) user.config.set(appId, (config = {}));
  return config;
}

export const configRoutes: Route[] = [
  route("GET", "/v2/config", (ctx) => ({ config: { ...store(ctx) } })),
  route("PUT", "/v2/config", (ctx) => {
    const config = ctx.params.raw("config");
    if (config === null || typeof config !== "object" || Array.isArray(config)) throw badRequest("config must be a JSON object");
    const target = store(ctx);
    for (const key of Object.keys(target)) delete target[key];
    Object.assign(target, config);
    return {};
  }),
  // A missing key answers value null, not 404 (go-putio Get).
  route("GET", "/v2/config/{key}", (ctx) => ({ value: store(ctx)[decodeURIComponent(ctx.match[1])] ?? null })),
  route("PUT", "/v2/config/{key}", (ctx) => {
    if (!("value" in ctx.params.body)) throw badRequest("Missing required parameter: value");
    store(ctx)[decodeURIComponent(ctx.match[1])] = ctx.params.body.value;
    return {};
  }),
  route("DELETE", "/v2/config/{key}", (ctx) => {
    delete store(ctx)[decodeURIComponent(ctx.match[1])];
    return {};
  }),
];
