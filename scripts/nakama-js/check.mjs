// Drives a running Outpost with the official Nakama JavaScript SDK (2.8.0), unchanged.
// Env: OUTPOST_PORT, OUTPOST_SERVER_KEY, OUTPOST_HTTP_KEY, GAME_ID; NODE_EXTRA_CA_CERTS points
// at the server's certificate; OUTPOST_BIN and OUTPOST_WORKDIR let it promote an admin
// through the CLI (leaderboards are created by admins). Exits non-zero on the first failed check.
import { execFileSync } from "node:child_process";
import { Client, Session } from "@heroiclabs/nakama-js";

const port = process.env.OUTPOST_PORT;
const game = process.env.GAME_ID;
const client = new Client(process.env.OUTPOST_SERVER_KEY, "127.0.0.1", port, true, 7000, false);
let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    const detail = e instanceof Response ? `HTTP ${e.status} ${await e.text()}` : String(e?.stack ?? e);
    console.log(`FAIL ${name}: ${detail}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function status(promise) {
  try {
    await promise;
    return 200;
  } catch (e) {
    return e instanceof Response ? e.status : -1;
  }
}

const device = `nakama-js-device-${process.pid}-${Date.now()}`;
let session;

await check("authenticateDevice creates an account and the SDK decodes the token", async () => {
  session = await client.authenticateDevice(device, true, `njs${process.pid}`, { game_id: game });
  assert(session.created === true, "created");
  assert(session.user_id && session.user_id.length === 36, `user_id ${session.user_id}`);
  assert(session.username === `njs${process.pid}`, `username ${session.username}`);
  assert(session.vars.game_id === game, "vars carried in the token");
  assert(session.expires_at * 1000 > Date.now(), "expiry in the future");
});

await check("Session.restore reads both tokens", async () => {
  const restored = Session.restore(session.token, session.refresh_token);
  assert(restored.user_id === session.user_id, "same user");
  assert(restored.refresh_expires_at > restored.expires_at, "refresh outlives session");
});

await check("getAccount and updateAccount", async () => {
  await client.updateAccount(session, { display_name: "Nakama JS", lang_tag: "de" });
  const account = await client.getAccount(session);
  assert(account.user.id === session.user_id, "id");
  assert(account.user.display_name === "Nakama JS", `display_name ${account.user.display_name}`);
  assert(account.devices[0].id === device, "device listed");
});

await check("rpc sends a JSON string and reads the payload back", async () => {
  const reply = await client.rpc(session, "profile_update", { display_name: "From JS" });
  assert(reply.id === "profile_update", `id ${reply.id}`);
  assert(reply.payload.success === true, JSON.stringify(reply.payload));
  assert(reply.payload.profile.display_name === "From JS", "profile updated in the session's game");
  const got = await client.rpc(session, "profile_get", {});
  assert(got.payload.profile.game_id === game, "the session's game is used");
});

await check("rpcHttpKey calls as a server", async () => {
  const reply = await client.rpcHttpKey(process.env.OUTPOST_HTTP_KEY, "game_list", {});
  assert(reply.payload.games.some((g) => g.game_id === game), JSON.stringify(reply.payload));
});

await check("errors reach the SDK as HTTP statuses", async () => {
  assert((await status(client.rpc(session, "no_such_rpc", {}))) === 404, "unknown rpc is 404");
  assert((await status(client.rpc(session, "game_list", {}))) === 403, "server rpc refused to a player");
  assert((await status(client.authenticateDevice("short", true))) === 400, "bad device id is 400");
  assert((await status(client.authenticateDevice(`${device}-none`, false))) === 404, "create=false is 404");
});

await check("leaderboards: write, list, around owner, delete", async () => {
  const board = `njs-weekly-${process.pid}`;
  const admin = await client.authenticateDevice(`${device}-admin`, true, undefined, { game_id: game });
  execFileSync(process.env.OUTPOST_BIN, ["--data-dir", "data", "user", "promote", admin.user_id], {
    cwd: process.env.OUTPOST_WORKDIR,
  });
  // An admin's own session names the game, as a player's does.
  const created = await client.rpc(admin, "leaderboard_create", { id: board, reset: "weekly" });
  assert(created.payload.leaderboard.id === board, JSON.stringify(created.payload));
  const rival = await client.authenticateDevice(`${device}-rival`, true, undefined, { game_id: game });

  const mine = await client.writeLeaderboardRecord(session, board, { score: 100, subscore: 2, metadata: { car: "red" } });
  assert(mine.score === 100 && mine.subscore === 2 && mine.rank === 1, JSON.stringify(mine));
  assert(mine.metadata.car === "red", "metadata round-trips");
  assert(mine.num_score === 1 && mine.owner_id === session.user_id, JSON.stringify(mine));
  assert(typeof mine.expiry_time === "string" && mine.expiry_time.endsWith("T00:00:00Z"), mine.expiry_time);
  await client.writeLeaderboardRecord(rival, board, { score: 250 });
  const better = await client.writeLeaderboardRecord(session, board, { score: 90 });
  assert(better.score === 100 && better.num_score === 2, `best keeps 100: ${JSON.stringify(better)}`);

  const list = await client.listLeaderboardRecords(session, board, undefined, 10);
  assert(list.rank_count === 2, `rank_count ${list.rank_count}`);
  assert(list.records.length === 2, JSON.stringify(list));
  assert(list.records[0].owner_id === rival.user_id && list.records[0].rank === 1, JSON.stringify(list.records[0]));
  assert(list.records[1].score === 100 && list.records[1].rank === 2, JSON.stringify(list.records[1]));
  const page = await client.listLeaderboardRecords(session, board, undefined, 1);
  assert(page.records.length === 1 && page.next_cursor, "a page of one with a cursor");
  const next = await client.listLeaderboardRecords(session, board, undefined, 1, page.next_cursor);
  assert(next.records[0].owner_id === session.user_id && next.prev_cursor, JSON.stringify(next));
  const owners = await client.listLeaderboardRecords(session, board, [session.user_id, rival.user_id]);
  assert(owners.owner_records.length === 2 && owners.owner_records[0].rank === 2, JSON.stringify(owners));

  const around = await client.listLeaderboardRecordsAroundOwner(session, board, session.user_id, 1);
  assert(around.records.length === 1 && around.records[0].owner_id === session.user_id, JSON.stringify(around));
  const around2 = await client.listLeaderboardRecordsAroundOwner(rival, board, session.user_id, 3);
  assert(around2.records.map((r) => r.rank).join(",") === "1,2", JSON.stringify(around2));

  await client.apiClient.deleteLeaderboardRecord(session.token, board);
  const after = await client.listLeaderboardRecords(rival, board);
  assert(after.rank_count === 1 && after.records[0].owner_id === rival.user_id, JSON.stringify(after));
  assert((await status(client.listLeaderboardRecords(session, "no-such-board"))) === 404, "unknown board is 404");
  assert((await status(client.listLeaderboardRecords(session, board, undefined, 5000))) === 400, "limit over 1000 is 400");
});

await check("sessionRefresh gives a new working session", async () => {
  const before = session.token;
  const fresh = await client.sessionRefresh(session); // the SDK updates the session in place
  assert(fresh.token !== before, "new token");
  assert(fresh.user_id === session.user_id, "same user");
  const account = await client.getAccount(fresh);
  assert(account.user.id === session.user_id, "works");
  session = fresh;
});

await check("sessionLogout revokes the session", async () => {
  await client.sessionLogout(session, session.token, session.refresh_token);
  assert((await status(client.getAccount(session))) === 401, "token revoked");
});

console.log(`nakama-js: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
