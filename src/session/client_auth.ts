/**
 * A client's credentials for a server that asks (RFC 2326 §12.5 with RFC 7617 Basic and RFC 7616
 * Digest): the user and password of the source URL, answered to the server's `WWW-Authenticate`
 * challenges. Digest is preferred to Basic, SHA-256 to MD5; qop=auth when offered, else the RFC
 * 2069 form cameras expect; a `stale` challenge is answered again at once with the new nonce.
 */
import { type Challenge, parseChallenge, serializeAuthorization } from "../auth/authorization_header.ts";
import { digestHa1, digestHa2, digestResponse } from "../auth/digest.ts";

/** Why a 401 cannot be answered. */
export type AuthRefusal = "no credentials" | "credentials refused" | "no usable challenge";

export class ClientAuth {
  readonly user: string;
  readonly #pass: string;
  #challenge: Challenge | null = null;
  #nc = 0;
  /** Whether the last answer was already sent with these credentials (a second 401 means refused). */
  #tried = false;

  constructor(user: string, pass: string) {
    this.user = user;
    this.#pass = pass;
  }

  /**
   * A 401 arrived with these WWW-Authenticate values: null when the request should be sent again
   * (with authorization()), else why not.
   */
  challenged(values: readonly string[]): AuthRefusal | null {
    if (this.user === "") return "no credentials";
    const challenges = values.map(parseChallenge).filter((c): c is Challenge => c !== null);
    const rank = (c: Challenge) => c.scheme === "basic" ? 0 : c.algorithm === "SHA-256" ? 2 : 1;
    const best = challenges.sort((a, b) => rank(b) - rank(a))[0];
    if (best === undefined) return "no usable challenge";
    const stale = best.scheme === "digest" && best.stale;
    const sameRealm = this.#challenge !== null && this.#challenge.realm === best.realm;
    // Refused: the same realm asked again although we answered it, and not only because of an old nonce.
    if (this.#tried && sameRealm && !stale) return "credentials refused";
    this.#challenge = best;
    this.#nc = 0;
    this.#tried = false;
    return null;
  }

  /** The Authorization value for a request, or undefined before any challenge. */
  authorization(method: string, uri: string): string | undefined {
    const c = this.#challenge;
    if (c === null) return undefined;
    this.#tried = true;
    if (c.scheme === "basic") {
      return serializeAuthorization({ scheme: "basic", user: this.user, pass: this.#pass });
    }
    const ha1 = digestHa1(c.algorithm, this.user, c.realm, this.#pass);
    const ha2 = digestHa2(c.algorithm, method, uri);
    const params = new Map<string, string>([
      ["username", this.user],
      ["realm", c.realm],
      ["nonce", c.nonce],
      ["uri", uri],
    ]);
    if (c.qop) {
      const nc = (++this.#nc).toString(16).padStart(8, "0");
      const cnonce = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
      params.set("response", digestResponse(c.algorithm, ha1, c.nonce, ha2, { qop: "auth", nc, cnonce }));
      params.set("algorithm", c.algorithm);
      params.set("qop", "auth");
      params.set("nc", nc);
      params.set("cnonce", cnonce);
    } else {
      params.set("response", digestResponse(c.algorithm, ha1, c.nonce, ha2));
      params.set("algorithm", c.algorithm);
    }
    return serializeAuthorization({ scheme: "digest", params });
  }

  /** The request succeeded: the credentials are good, a later 401 starts over (a new realm or nonce). */
  accepted(): void {
    this.#tried = false;
  }
}
