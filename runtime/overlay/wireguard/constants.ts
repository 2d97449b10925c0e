/**
 * Protocol constants of the WireGuard whitepaper (section 6.1, "Preliminaries")
 * and wireguard-go, named as in the paper. Times are in milliseconds here.
 */
/** After this many messages with one keypair, the initiator starts a new handshake (2^60). */
export const REKEY_AFTER_MESSAGES = 2 ** 60;
/** No keypair is used for more than 2^64 - 2^13 - 1 messages (> 2^53: unreachable with JS numbers, kept for the record). */
export const REJECT_AFTER_MESSAGES = 2 ** 64 - 2 ** 13 - 1;
/** The initiator rekeys a session older than this when sending. */
export const REKEY_AFTER_TIME = 120_000;
/** A keypair older than this is never used to send or receive. */
export const REJECT_AFTER_TIME = 180_000;
/** Handshake retries stop after this long (then staged packets are dropped). */
export const REKEY_ATTEMPT_TIME = 90_000;
/** An unanswered initiation is retried after this long (plus jitter). */
export const REKEY_TIMEOUT = 5_000;
/** A passive keepalive follows a received data packet after this long with nothing sent. */
export const KEEPALIVE_TIMEOUT = 10_000;
/** Cookie secrets change, and received cookies expire, after this long (whitepaper 5.4.7). */
export const COOKIE_REFRESH_TIME = 120_000;
/** Retries before giving up: REKEY_ATTEMPT_TIME / REKEY_TIMEOUT. */
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT;
/** Initiations from one peer are consumed at most this often (wireguard-go HandshakeInitationRate, 50/s). */
export const HANDSHAKE_INITIATION_RATE = 20;
/** Jitter added to handshake retry timers (wireguard-go uses up to 333 ms). */
export const REKEY_TIMEOUT_JITTER_MAX = 334;
/** Staged outgoing packets per peer while a handshake is pending (wireguard-go QueueStagedSize). */
export const MAX_STAGED_PACKETS = 128;
/** The device stays "under load" this long after the last sign of it (wireguard-go UnderLoadAfterTime). */
export const UNDER_LOAD_AFTER_TIME = 1000;
/**
 * Wall time (ms) handshake messages may take in one second before the device
 * is under load: a quarter of a core, so a flood the queue keeps up with
 * (one initiation costs ~0.1 ms) still cannot take the event loop.
 */
export const HANDSHAKE_BUSY_MS = 250;
/** After a cookie reply, the initiation is sent again (with mac2) this much later (ms), not REKEY_TIMEOUT. */
export const COOKIE_RETRY = 100;

/** Random jitter in [0, REKEY_TIMEOUT_JITTER_MAX) ms. */
export const jitter = (): number => Math.floor(Math.random() * REKEY_TIMEOUT_JITTER_MAX);
