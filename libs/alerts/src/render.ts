import type { BasisEvent, StatusChangeSummary, StatusView } from '@chiptrail/domain';

/** The body every channel carries: Standard Webhooks' `{type, timestamp, data}`. */
export interface AlertPayload {
  readonly type: string;
  readonly timestamp: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface MailLinks {
  readonly unsubscribe: string;
  readonly confirm?: string;
  readonly app: string;
}

const esc = (text: unknown) =>
  String(text ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

function describe(view: StatusView | null | undefined): string {
  if (!view) return 'not known';
  const conditions = view.export.conditions.length
    ? ` (${view.export.conditions.map((c) => (typeof c.percent === 'number' ? `${c.type} ${c.percent}%` : c.type)).join(', ')})`
    : '';
  const policy = view.export.licensePolicy ? `, ${view.export.licensePolicy.replace(/_/g, ' ')}` : '';
  return `export ${view.export.status.replace(/_/g, ' ')}${policy}${conditions}; import ${view.import.status}`;
}

function day(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : 'the beginning';
}

function basisLines(basis: readonly BasisEvent[]): Array<{ text: string; url: string | undefined }> {
  return basis.map((b) => ({
    text: `${b.type}${b.authority ? ` (${b.authority})` : ''}${b.title ? `: ${b.title}` : ''}, effective ${day(b.effectiveAt)}${b.source.confidence ? `, confidence ${b.source.confidence}` : ''}`,
    url: b.source.url,
  }));
}

/** Text and HTML for an alert e-mail; all text from events and feeds is escaped in the HTML. */
export function renderMail(payload: AlertPayload, links: MailLinks): RenderedMail {
  const lines: string[] = [];
  const blocks: string[] = [];
  let subject: string;
  const paragraph = (text: string) => {
    lines.push(text, '');
    blocks.push(`<p>${esc(text)}</p>`);
  };
  const list = (items: Array<{ text: string; url?: string }>) => {
    for (const item of items) lines.push(`- ${item.text}${item.url ? ` <${item.url}>` : ''}`);
    lines.push('');
    blocks.push(`<ul>${items.map((item) => `<li>${esc(item.text)}${item.url ? ` — <a href="${esc(item.url)}">source</a>` : ''}</li>`).join('')}</ul>`);
  };

  switch (payload.type) {
    case 'chip.status.changed': {
      const change = payload.data as unknown as StatusChangeSummary & { causes?: Array<{ type: string; title: string | null; url?: string }> };
      subject = `${change.chip} → ${change.destination}: ${change.now.changed ? describe(change.now.after) : 'status history changed'}`;
      paragraph(`The status of ${change.chip} for ${change.destination} changed (recorded ${change.knownAt}).`);
      paragraph(`Now: ${describe(change.now.before)} → ${describe(change.now.after)}.`);
      if (change.periods.length) {
        paragraph('Periods that changed:');
        list(change.periods.map((p) => ({ text: `${day(p.validFrom)} to ${p.validTo ? day(p.validTo) : 'further notice'}: ${describe(p.before)} → ${describe(p.after)}` })));
      }
      if (change.upcoming.length) {
        paragraph('Coming changes (you will be reminded when each takes effect):');
        list(change.upcoming.map((u) => ({ text: `from ${day(u.effectiveAt)}: ${describe(u.status)}` })));
      }
      if (change.basis.length) {
        paragraph('Based on:');
        list(basisLines(change.basis));
      }
      break;
    }
    case 'chip.status.effective': {
      const data = payload.data as { chip: string; destination: string; effectiveAt: string; status: StatusView; basis?: BasisEvent[] };
      subject = `${data.chip} → ${data.destination}: ${describe(data.status)} from today`;
      paragraph(`As announced, from ${day(data.effectiveAt)} the status of ${data.chip} for ${data.destination} is: ${describe(data.status)}.`);
      if (data.basis?.length) {
        paragraph('Based on:');
        list(basisLines(data.basis));
      }
      break;
    }
    case 'policy.event.recorded': {
      const data = payload.data as { type: string; title: string | null; authority: string | null; effectiveAt: string; source?: { url?: string; title?: string } };
      subject = `New event: ${data.type}${data.title ? ` — ${data.title}` : ''}`;
      paragraph(`${data.type}${data.authority ? ` by ${data.authority}` : ''}, effective ${day(data.effectiveAt)}.`);
      if (data.title) paragraph(data.title);
      if (data.source?.url) list([{ text: data.source.title ?? 'Source', url: data.source.url }]);
      break;
    }
    case 'feed.health.changed': {
      const data = payload.data as { name: string; url: string; healthy: boolean; consecutiveErrors: number; lastError: string | null };
      subject = `Feed ${data.healthy ? 'recovered' : 'failing'}: ${data.name}`;
      paragraph(data.healthy ? `The feed "${data.name}" is answering again.` : `The feed "${data.name}" failed ${data.consecutiveErrors} times in a row.`);
      if (data.lastError) paragraph(`Last error: ${data.lastError}`);
      list([{ text: data.url }]);
      break;
    }
    case 'subscription.disabled': {
      const data = payload.data as { target: string; reason: string };
      subject = `Alerts to ${data.target} were disabled`;
      paragraph(`chiptrail stopped delivering alerts to ${data.target}: ${data.reason}.`);
      paragraph('Fix the endpoint, then resume the subscription; failed deliveries can be recovered.');
      break;
    }
    case 'subscription.confirmation': {
      subject = 'Confirm your chiptrail alert subscription';
      paragraph('Someone (hopefully you) asked chiptrail to send export-control alerts to this address.');
      paragraph('To start receiving them, open the link below and press "Confirm". The link is valid for 7 days.');
      if (links.confirm) list([{ text: 'Confirm the subscription', url: links.confirm }]);
      paragraph('If you did not ask for this, ignore this message: nothing will be sent.');
      break;
    }
    case 'digest.daily': {
      const data = payload.data as { date: string; total: number; statusChanges: Array<{ chip: string; destination: string; changes: Array<{ data: Record<string, unknown> }> }>; otherAlerts: Array<{ type: string; entries: unknown[] }> };
      subject = `chiptrail daily digest ${data.date}: ${data.total} alert${data.total === 1 ? '' : 's'}`;
      paragraph(`${data.total} alert${data.total === 1 ? '' : 's'} on ${data.date}.`);
      for (const group of data.statusChanges) {
        paragraph(`${group.chip} → ${group.destination}`);
        list(
          group.changes.map((c) => {
            const change = c.data as unknown as Partial<StatusChangeSummary> & { status?: StatusView; effectiveAt?: string };
            return {
              text: change.now
                ? `${describe(change.now.before)} → ${describe(change.now.after)} (recorded ${change.knownAt})`
                : `from ${day(change.effectiveAt)}: ${describe(change.status)}`,
            };
          }),
        );
      }
      for (const other of data.otherAlerts) paragraph(`${other.entries.length} × ${other.type}`);
      break;
    }
    default:
      subject = `chiptrail: ${payload.type}`;
      paragraph(JSON.stringify(payload.data));
  }
  lines.push(`Manage alerts: ${links.app}`, `Unsubscribe: ${links.unsubscribe}`);
  const html = [
    '<!doctype html><html><body style="font-family: sans-serif; max-width: 40em">',
    ...blocks,
    `<hr><p style="font-size: small"><a href="${esc(links.app)}">Manage alerts</a> · <a href="${esc(links.unsubscribe)}">Unsubscribe</a></p>`,
    '</body></html>',
  ].join('\n');
  return { subject: subject.slice(0, 200), text: lines.join('\n'), html };
}
