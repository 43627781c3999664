/**
 * `POST /api/commands`: a command line in, the command's Reply out, through the
 * same dispatch chat uses (SPEC §6). The CLI talks to a running instance this way.
 *
 * The answer is 200 `{ "reply": Reply }` whenever a command was run, including
 * when the Reply itself is an error ("no target …", "interval must be …"): the
 * HTTP exchange worked and the reply says what was wrong, exactly as chat shows
 * it. HTTP errors are kept for failures of the exchange itself: no or wrong token
 * (401/403), a body that is not `{ "text": "…" }` (400/413/415).
 *
 * Body: `{ "text": "uptime portal 7d", "client"?: "api" | "cli" }`; `client` only
 * picks the prefix of usage examples in replies (`lookout add …` for the CLI).
 */
import { dispatch } from '../../commands/index.js';
import { MAX_CHARS } from '../../commands/parse.js';
import type { CommandContext } from '../../commands/types.js';
import { HttpError, readJson, requireToken } from './router.js';
import type { Router } from './router.js';

export interface CommandsApiOptions {
  /** Bearer token; without one the route answers 403 (the API is read-only). */
  apiToken: string | undefined;
  /** The app's command context; read at each call, so services added later (speed test) are seen. */
  context: Omit<CommandContext, 'actor'>;
}

const CLIENTS = new Set(['api', 'cli']);

export function registerCommandsApi(router: Router, o: CommandsApiOptions): void {
  router.on('POST', '/api/commands', async (req) => {
    requireToken(req.raw, o.apiToken);
    const body = await readJson(req.raw, 16 * 1024);
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new HttpError(400, 'send a JSON object like {"text": "uptime portal 7d"}');
    const { text, client } = body as { text?: unknown; client?: unknown };
    if (typeof text !== 'string')
      throw new HttpError(400, '"text" is required: the command line, e.g. {"text": "uptime portal 7d"}');
    if ([...text].length > MAX_CHARS)
      throw new HttpError(400, `"text" is too long (at most ${MAX_CHARS} characters)`);
    if (client !== undefined && !(typeof client === 'string' && CLIENTS.has(client)))
      throw new HttpError(400, '"client" must be "api" or "cli"');
    const platform = client === 'cli' ? 'cli' : 'api';
    // Holding the API token is what makes an admin here (SPEC §4: CLI and API callers are admins).
    const reply = await dispatch(text, { ...o.context, actor: { platform, id: platform, admin: true } });
    return { reply };
  });
}
