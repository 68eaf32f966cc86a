// Drives a running Outpost with the official Nakama JavaScript SDK (2.8.0), unchanged.
// Env: OUTPOST_PORT, OUTPOST_SERVER_KEY, OUTPOST_HTTP_KEY, GAME_ID; NODE_EXTRA_CA_CERTS points
// at the server's certificate; OUTPOST_BIN and OUTPOST_WORKDIR let it promote an admin
// through the CLI (leaderboards and tournaments are created by admins). Exits non-zero on the first failed check.
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

await check("tournaments: list, join, write a record, list records, around owner", async () => {
  // An admin (promoted through the running server's admin socket) creates a score window
  // that starts now; a player finds it, joins, writes a record and lists the records.
  const admin = await client.authenticateDevice(`${device}-t-admin`, true, undefined, { game_id: game });
  execFileSync(process.env.OUTPOST_BIN, ["--data-dir", "data", "user", "promote", admin.user_id], {
    cwd: process.env.OUTPOST_WORKDIR,
  });
  const now = Math.floor(Date.now() / 1000);
  const created = await client.rpc(admin, "tournament_create", {
    title: "JS Cup", category: 7, start_time: now, duration: "1h", max_players: 50,
    metadata: { sdk: "nakama-js" },
  });
  const id = created.payload.tournament.tournament_id;
  const player = await client.authenticateDevice(`${device}-t-player`, true, undefined, { game_id: game });
  const rival = await client.authenticateDevice(`${device}-t-rival`, true, undefined, { game_id: game });

  const list = await client.listTournaments(player, 7, 7);
  const t = list.tournaments.find((x) => x.id === id);
  assert(t, JSON.stringify(list));
  assert(t.title === "JS Cup" && t.category === 7 && t.sort_order === 1, JSON.stringify(t));
  assert(t.max_size === 50 && t.size === 0 && t.can_enter === true, JSON.stringify(t));
  assert(t.metadata.sdk === "nakama-js", "metadata parsed by the SDK");
  assert(t.duration === 3600 && typeof t.start_time === "string", JSON.stringify(t));
  const all = await client.listTournaments(player);
  assert(all.tournaments.some((x) => x.id === id), "listed without filters");
  const other = await client.listTournaments(player, 8, 20);
  assert(!other.tournaments.some((x) => x.id === id), "category filter");
  assert((await status(client.listTournaments(player, 0, 200))) === 400, "category_end over 127 is 400");

  assert((await client.joinTournament(player, id)) === true, "joined");
  assert((await client.joinTournament(rival, id)) === true, "rival joined");
  const joined = await client.listTournaments(player, 7, 7);
  assert(joined.tournaments.find((x) => x.id === id).size === 2, "size counts the joins");

  let record;
  for (let i = 0; i < 50 && !record; i++) {
    try {
      record = await client.writeTournamentRecord(player, id, { score: 77, subscore: 3, metadata: { lap: 1 } });
    } catch (e) {
      if (!(e instanceof Response) || e.status !== 400) throw e;
      await new Promise((r) => setTimeout(r, 100)); // the start job runs within a second
    }
  }
  assert(record, "the tournament became active");
  assert(record.score === 77 && record.subscore === 3 && record.num_score === 1, JSON.stringify(record));
  assert(record.rank === 1 && record.owner_id === player.user_id, JSON.stringify(record));
  assert(record.leaderboard_id === id && record.metadata.lap === 1, JSON.stringify(record));
  const rivals = await client.writeTournamentRecord(rival, id, { score: 90 });
  assert(rivals.rank === 1, JSON.stringify(rivals));

  const records = await client.listTournamentRecords(player, id, [player.user_id], 10);
  assert(records.records.length === 2, JSON.stringify(records));
  assert(records.records[0].owner_id === rival.user_id && records.records[0].score === 90, JSON.stringify(records));
  assert(records.records[1].rank === 2 && records.records[1].metadata.lap === 1, JSON.stringify(records));
  assert(records.owner_records.length === 1 && records.owner_records[0].owner_id === player.user_id, "owner record");
  const page = await client.listTournamentRecords(player, id, undefined, 1);
  assert(page.records.length === 1 && page.next_cursor, "a page of one with a cursor");
  const next = await client.listTournamentRecords(player, id, undefined, 1, page.next_cursor);
  assert(next.records[0].owner_id === player.user_id && next.prev_cursor, JSON.stringify(next));

  const around = await client.listTournamentRecordsAroundOwner(rival, id, player.user_id, 1);
  assert(around.records.length === 1 && around.records[0].owner_id === player.user_id, JSON.stringify(around));
  assert(around.records[0].rank === 2, JSON.stringify(around));
  const unknown = "00000000-0000-4000-8000-000000000000";
  assert((await status(client.listTournamentRecords(player, unknown))) === 404, "unknown tournament is 404");
  assert((await status(client.joinTournament(player, unknown))) === 404, "join unknown is 404");
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
