// ssh-gateway's error codes (the /ssh routes answer in Bunker's error body).
import { defineErrors } from "bunker/core";

export const errors = defineErrors({
  /** The body held a private key: it is refused, and never stored or logged. */
  PRIVATE_KEY_SENT: 400,
  INVALID_PUBLIC_KEY: 400,
  KEY_EXISTS: 409,
  TOO_MANY_KEYS: 409,
  KEY_NOT_FOUND: 404,
});
