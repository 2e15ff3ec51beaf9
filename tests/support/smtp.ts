import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SmtpCapture {
  readonly url: string;
  readonly messages: ParsedMail[];
  /** Waits until a message matching `predicate` has arrived. */
  waitFor(predicate: (mail: ParsedMail) => boolean, timeoutMs?: number): Promise<ParsedMail>;
  /** Makes the server refuse the next messages with a 4xx (transient) or 5xx (permanent) reply. */
  refuse(code: number | null): void;
  close(): Promise<void>;
}

/** A real SMTP server (smtp-server) on 127.0.0.1 that parses what it receives (mailparser). */
export async function startSmtpCapture(): Promise<SmtpCapture> {
  const messages: ParsedMail[] = [];
  let refusal: number | null = null;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      if (refusal) {
        stream.resume();
        stream.on('end', () => callback(Object.assign(new Error('refused by the test'), { responseCode: refusal as number })));
        return;
      }
      simpleParser(stream)
        .then((mail) => {
          messages.push(mail);
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = (server.server.address() as { port: number });
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = messages.find(predicate);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no matching e-mail within ${timeoutMs} ms (received: ${messages.map((m) => m.subject).join(' | ')})`);
    },
    refuse(code) {
      refusal = code;
    },
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
