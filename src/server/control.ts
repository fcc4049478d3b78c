import { z } from 'zod';
import { settingSchema } from '../settings.js';

/**
 * Control messages a client may send on `/stream` (text JSON), validated once here, where
 * untrusted input enters. The ranges are the method's (src/settings.ts), as on the command line.
 */
const controlSchema = z.strictObject({
  type: z.literal('control'),
  tau: settingSchema('tau').optional(),
  votes: settingSchema('votes').optional(),
  window: settingSchema('window').optional(),
});

const resetSchema = z.strictObject({ type: z.literal('reset') });

const messageSchema = z.discriminatedUnion('type', [controlSchema, resetSchema]);

export type ControlMessage = z.infer<typeof messageSchema>;

export type ParsedControl = { ok: true; message: ControlMessage } | { ok: false; error: string };

/** Parses one client message; every failure becomes a message fit to send back to the client. */
export function parseControl(data: string): ParsedControl {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, error: 'not JSON: control messages are JSON text' };
  }
  const result = messageSchema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => {
      const where = issue.path.length ? issue.path.join('.') : 'message';
      return `${where}: ${issue.message}`;
    });
    return { ok: false, error: `invalid control message (${issues.join('; ')})` };
  }
  if (result.data.type === 'control' && Object.keys(result.data).length === 1) {
    return { ok: false, error: 'invalid control message (control needs at least one of tau, votes, window)' };
  }
  return { ok: true, message: result.data };
}
