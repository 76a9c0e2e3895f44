/**
 * The JOSE adapter: the only file that imports npm `jose`. Verifies a compact JWT against the keys
 * of the JWKS at `auth.jwt.jwksUrl`, which jose's remote key set fetches and keeps (refetched when
 * older than `cacheMs`, or for a token whose key it lacks at most once per `cooldownMs`; one fetch
 * at a time, each within `timeoutMs`). A token must be signed by one of those keys (public keys:
 * no shared secret, no "none"), carry `exp` and not be past it, and match `issuer` and `audience`
 * when they are set. A JWKS that cannot be fetched or read is a failure of the auth server, not of
 * the token.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTVerifyOptions } from "jose";
import type { TokenVerdict, TokenVerifier } from "./external_auth.ts";
import type { JwtAuthSettings } from "./permission.ts";

/** jose's codes for a JWKS that could not be had: the issuer's side failed, not the client. */
const UNAVAILABLE = new Set(["ERR_JWKS_TIMEOUT", "ERR_JWKS_INVALID", "ERR_JOSE_GENERIC"]);

export class JoseTokenVerifier implements TokenVerifier {
  readonly #keys: ReturnType<typeof createRemoteJWKSet>;
  readonly #options: JWTVerifyOptions;

  constructor(s: JwtAuthSettings) {
    this.#keys = createRemoteJWKSet(new URL(s.jwksUrl), {
      timeoutDuration: s.timeoutMs,
      cacheMaxAge: s.cacheMs,
      cooldownDuration: s.cooldownMs,
      [customFetch]: fetchJwks,
    });
    this.#options = {
      requiredClaims: ["exp"],
      ...(s.issuer !== "" ? { issuer: s.issuer } : {}),
      ...(s.audience !== "" ? { audience: s.audience } : {}),
    };
  }

  async verify(token: string): Promise<TokenVerdict> {
    try {
      const { payload } = await jwtVerify(token, this.#keys, this.#options);
      return { ok: true, claims: payload as Record<string, unknown> };
    } catch (e) {
      if (e instanceof errors.JOSEError && !UNAVAILABLE.has(e.code)) {
        return { ok: false, unavailable: false, reason: `invalid token: ${tokenReason(e)}` };
      }
      // No connection, a timeout, a non-200 answer or one that is no JWKS.
      const why = e instanceof errors.JWKSTimeout ? "timed out (auth.jwt.timeoutMs)" : (e as Error)?.message;
      return { ok: false, unavailable: true, reason: `the JWKS (auth.jwt.jwksUrl) could not be had: ${why}` };
    }
  }
}

/**
 * fetch for jose, which reads the body of a 200 only: any other answer's body is let go here, so a
 * JWKS server that fails does not leave a response (and its connection) held until GC.
 */
async function fetchJwks(url: string, init: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  if (res.status === 200) return res;
  await res.body?.cancel().catch(() => {});
  return new Response(null, { status: res.status >= 200 && res.status <= 599 ? res.status : 502 });
}

/** Why jose refused a token, in a few words (never the token). */
function tokenReason(e: InstanceType<typeof errors.JOSEError>): string {
  if (e instanceof errors.JWTExpired) return "expired";
  if (e instanceof errors.JWTClaimValidationFailed) return `claim '${e.claim}' ${e.reason}`;
  if (e instanceof errors.JWSSignatureVerificationFailed) return "signature does not verify";
  if (e instanceof errors.JWKSNoMatchingKey) return "signed by no key of the JWKS";
  if (e instanceof errors.JWKSMultipleMatchingKeys) return "several keys of the JWKS match (give it a kid)";
  return e.code;
}
