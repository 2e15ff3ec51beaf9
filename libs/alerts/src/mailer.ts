import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';

export interface OutgoingMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Stable per delivery, so a retried send is recognisably the same message. */
  readonly messageId: string;
}

export class MailError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly responseCode?: number,
  ) {
    super(message);
  }
}

/**
 * Sends mail through SMTP (SMTP_URL), or with no SMTP configured writes each message as an .eml file under
 * `<DATA_DIR>/mail/`, which admins can list: the embedded mode works end to end without a mail server.
 */
export class Mailer {
  private readonly transport: Transporter;
  readonly mode: 'smtp' | 'files';

  constructor(
    private readonly options: { smtpUrl: string | undefined; from: string; dataDir: string },
  ) {
    this.mode = options.smtpUrl ? 'smtp' : 'files';
    this.transport = options.smtpUrl
      ? nodemailer.createTransport(`${options.smtpUrl}${options.smtpUrl.includes('?') ? '&' : '?'}connectionTimeout=10000&greetingTimeout=10000&socketTimeout=20000`)
      : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  get directory(): string {
    return path.join(this.options.dataDir, 'mail');
  }

  async send(mail: OutgoingMail): Promise<void> {
    try {
      const info = await this.transport.sendMail({
        from: this.options.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        headers: mail.headers,
        messageId: mail.messageId,
      });
      if (this.mode === 'files') {
        await mkdir(this.directory, { recursive: true });
        const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.messageId.replace(/[^A-Za-z0-9-]/g, '')}.eml`;
        await writeFile(path.join(this.directory, name), (info as unknown as { message: Buffer }).message);
      }
    } catch (error) {
      if (error instanceof MailError) throw error;
      const code = (error as { responseCode?: number }).responseCode;
      throw new MailError((error as Error).message, typeof code === 'number' && code >= 500 && code < 600 && code !== 552, code);
    }
  }

  /** The .eml files written in file mode, newest first. */
  async list(): Promise<Array<{ name: string; size: number; writtenAt: string }>> {
    const names = await readdir(this.directory).catch(() => [] as string[]);
    const files = await Promise.all(
      names
        .filter((name) => name.endsWith('.eml'))
        .map(async (name) => {
          const info = await stat(path.join(this.directory, name));
          return { name, size: info.size, writtenAt: info.mtime.toISOString() };
        }),
    );
    return files.sort((a, b) => b.name.localeCompare(a.name));
  }

  async read(name: string): Promise<Buffer | undefined> {
    if (!/^[A-Za-z0-9-]+\.eml$/.test(name)) return undefined;
    return readFile(path.join(this.directory, name)).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
