// A Matrix person for Coopbot's tests, encrypting the way Element does: matrix-js-sdk
// with its Rust crypto (initRustCrypto), its own cross-signing, and
// OnlySignedDevicesIsolationMode (room keys only to devices their owner cross-signed;
// events from unsigned devices refused, MSC4153).
//
// Driven by pytest over stdin/stdout, one JSON object per line:
//   → {"id": 1, "cmd": "start", "args": {...}}
//   ← {"id": 1, "ok": true, "result": ...}   or   {"id": 1, "ok": false, "error": "..."}
// Everything the SDK logs goes to stderr.

import readline from "node:readline";
import { webcrypto } from "node:crypto";

// The SDK logs through console.*: keep stdout for the protocol.
for (const name of ["log", "info", "debug", "warn", "error", "trace"]) {
  console[name] = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
}

const sdk = await import("matrix-js-sdk");
const { logger } = await import("matrix-js-sdk/lib/logger.js");
const { OnlySignedDevicesIsolationMode } = await import("matrix-js-sdk/lib/crypto-api/index.js");
logger.setLevel(process.env.E2EE_CLIENT_DEBUG ? "debug" : "warn");

let client = null;
let password = null;
const records = new Map(); // event id → what this person sees of it
const order = new Map(); // room id → event ids in arrival order
let utdSeen = 0; // decryption failures seen at any moment (a later key may still fix them)
let startedAt = 0; // events older than this person's login are history of other tests

function unb64(text) {
  const pad = text.length % 4 === 0 ? "" : "=".repeat(4 - (text.length % 4));
  return Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/") + pad, "base64");
}

function b64(bytes) {
  return Buffer.from(bytes).toString("base64").replace(/=+$/, "");
}

function record(event) {
  const id = event.getId();
  if (!id) return;
  const roomId = event.getRoomId();
  if (!records.has(id)) {
    if (!order.has(roomId)) order.set(roomId, []);
    order.get(roomId).push(id);
  }
  const failed = event.isDecryptionFailure();
  if (failed && event.getTs() >= startedAt) utdSeen += 1;
  records.set(id, {
    event_id: id,
    room_id: roomId,
    sender: event.getSender(),
    type: event.getType(),
    content: event.getContent(),
    encrypted: event.isEncrypted(),
    utd: failed,
    utd_reason: failed ? String(event.decryptionFailureReason ?? "") : null,
    ts: event.getTs(),
    seen_at: Date.now(),
  });
}

async function start({ homeserver, user, password: pw, device_name }) {
  password = pw;
  startedAt = Date.now();
  const bare = sdk.createClient({ baseUrl: homeserver });
  const login = await bare.login("m.login.password", {
    identifier: { type: "m.id.user", user },
    password: pw,
    initial_device_display_name: device_name ?? "e2ee-test",
  });
  client = sdk.createClient({
    baseUrl: homeserver,
    userId: login.user_id,
    deviceId: login.device_id,
    accessToken: login.access_token,
  });
  await client.initRustCrypto({ useIndexedDB: false });
  const crypto = client.getCrypto();
  await crypto.bootstrapCrossSigning({
    authUploadDeviceSigningKeys: async (makeRequest) => {
      await makeRequest({
        type: "m.login.password",
        identifier: { type: "m.id.user", user: login.user_id },
        password,
      });
    },
  });
  crypto.setDeviceIsolationMode(new OnlySignedDevicesIsolationMode());
  client.on(sdk.RoomEvent.Timeline, (event) => {
    record(event);
    if (event.isEncrypted()) {
      client.decryptEventIfNeeded(event).then(() => record(event), () => record(event));
    }
  });
  client.on(sdk.MatrixEventEvent.Decrypted, (event) => record(event));
  client.on(sdk.RoomMemberEvent.Membership, (_event, member) => {
    if (member.membership === "invite" && member.userId === client.getUserId()) {
      client.joinRoom(member.roomId).catch(() => {});
    }
  });
  const ready = new Promise((resolve) => {
    client.on(sdk.ClientEvent.Sync, (state) => {
      if (state === "PREPARED" || state === "SYNCING") resolve();
    });
  });
  await client.startClient({ initialSyncLimit: 20 });
  await ready;
  const own = await crypto.getDeviceVerificationStatus(login.user_id, login.device_id);
  return {
    user_id: login.user_id,
    device_id: login.device_id,
    own_device_cross_signed: Boolean(own?.crossSigningVerified),
  };
}

async function createDm({ invite }) {
  // As Element creates a direct chat: is_direct, trusted_private_chat, encryption from
  // the first event (initial state), then m.direct account data.
  const { room_id } = await client.createRoom({
    is_direct: true,
    preset: "trusted_private_chat",
    invite: [invite],
    initial_state: [
      { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } },
    ],
  });
  const direct = client.getAccountData("m.direct")?.getContent() ?? {};
  direct[invite] = [...(direct[invite] ?? []), room_id];
  await client.setAccountData("m.direct", direct);
  return { room_id, invited_at: Date.now() };
}

async function send({ room_id, text }) {
  const { event_id } = await client.sendEvent(room_id, "m.room.message", {
    msgtype: "m.text",
    body: text,
  });
  return { event_id, sent_at: Date.now() };
}

async function vote({ room_id, poll_id, answer }) {
  const { event_id } = await client.sendEvent(room_id, "org.matrix.msc3381.poll.response", {
    "m.relates_to": { rel_type: "m.reference", event_id: poll_id },
    "org.matrix.msc3381.poll.response": { answers: [answer] },
  });
  return { event_id };
}

function events({ room_id, after = 0 }) {
  const ids = order.get(room_id) ?? [];
  return ids.slice(after).map((id) => records.get(id));
}

async function downloadDecrypt({ file }) {
  // An encrypted attachment (spec: EncryptedFile): fetch the ciphertext, check its
  // SHA-256, decrypt with AES-CTR (key as JWK, 64-bit counter from iv).
  const url = client.mxcUrlToHttp(file.url, undefined, undefined, undefined, false, true, true);
  const response = await fetch(url, {
    headers: { Authorization: `Bearer ${client.getAccessToken()}` },
  });
  if (!response.ok) throw new Error(`download failed: HTTP ${response.status}`);
  const data = new Uint8Array(await response.arrayBuffer());
  const digest = new Uint8Array(await webcrypto.subtle.digest("SHA-256", data));
  if (b64(digest) !== file.hashes.sha256.replace(/=+$/, "")) throw new Error("hash mismatch");
  const key = await webcrypto.subtle.importKey("jwk", file.key, { name: "AES-CTR" }, false, [
    "decrypt",
  ]);
  const clear = await webcrypto.subtle.decrypt(
    { name: "AES-CTR", counter: unb64(file.iv), length: 64 },
    key,
    data,
  );
  return { base64: Buffer.from(clear).toString("base64"), ciphertext_bytes: data.length };
}

async function deviceStatus({ user_id }) {
  const crypto = client.getCrypto();
  const devices = (await crypto.getUserDeviceInfo([user_id], true)).get(user_id) ?? new Map();
  const result = [];
  for (const deviceId of devices.keys()) {
    const status = await crypto.getDeviceVerificationStatus(user_id, deviceId);
    result.push({
      device_id: deviceId,
      signed_by_owner: Boolean(status?.signedByOwner),
      cross_signing_verified: Boolean(status?.crossSigningVerified),
    });
  }
  const identity = await crypto.getUserVerificationStatus(user_id);
  return { devices: result, has_identity: Boolean(identity) };
}

function stats() {
  // Only what was sent while this person was there: older events (other tests' rooms,
  // encrypted for devices this one never was) cannot be decrypted, by design.
  const live = [...records.values()].filter((r) => r.ts >= startedAt);
  return {
    events: live.length,
    undecryptable_now: live.filter((r) => r.utd).length,
    decryption_failures_seen: utdSeen,
    history_events_ignored: records.size - live.length,
  };
}

const commands = {
  start,
  create_dm: createDm,
  send,
  vote,
  events,
  download_decrypt: downloadDecrypt,
  device_status: deviceStatus,
  stats,
  stop: async () => {
    client?.stopClient();
    setTimeout(() => process.exit(0), 50);
    return {};
  },
};

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    return;
  }
  const reply = (body) => process.stdout.write(JSON.stringify({ id: request.id, ...body }) + "\n");
  try {
    const handler = commands[request.cmd];
    if (!handler) throw new Error(`unknown command ${request.cmd}`);
    reply({ ok: true, result: await handler(request.args ?? {}) });
  } catch (error) {
    reply({ ok: false, error: String(error?.stack ?? error) });
  }
});
lines.on("close", () => {
  client?.stopClient();
  process.exit(0);
});
