/** An e-mail's content: its subject, its text part and its HTML part. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** `value` as HTML text: `&`, `<`, `>`, `"` and `'` written as entities, safe in elements and quoted attributes. */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * The HTML document every e-mail is: the frame (doctype, `subject` escaped as its title, the body's
 * style) around `body`, HTML already (what it holds of the data escaped by the template).
 */
export function htmlPage(subject: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
${body}
</body>
</html>
`;
}

/** The text column the facts' values start in: one past the longest label with its colon (`Passed on:`). */
const FACT_LABEL_WIDTH = 11;

/**
 * A line of an e-mail's table of facts: its label and its value, plain text. A list (seats) is
 * `; `-joined in the text and an HTML list in the table; a `code` value (an id) is shown as code.
 */
export interface Fact {
  label: string;
  value: string | string[];
  code?: boolean;
}

/**
 * A notice about a purchase or a show, laid out as every such e-mail is: `Hello <name>,`; `intro`
 * (text lines; HTML paragraphs, escaped); the `facts` as a table (factTable); `after` it, if
 * anything (text lines; HTML); the signature.
 */
export function factsEmail(email: {
  subject: string;
  name: string;
  intro: { text: string[]; html: string };
  facts: Fact[];
  after?: { text: string[]; html: string };
}): RenderedEmail {
  const table = factTable(email.facts);
  const text = [
    `Hello ${email.name},`,
    '',
    ...email.intro.text,
    '',
    ...table.text,
    '',
    ...(email.after ? [...email.after.text, ''] : []),
    'boxoffice',
    '',
  ].join('\n');
  const html = htmlPage(
    email.subject,
    `<p>Hello ${escapeHtml(email.name)},</p>
${email.intro.html}
${table.html}
${email.after ? `${email.after.html}\n` : ''}<p>boxoffice</p>`,
  );
  return { subject: email.subject, text, html };
}

/**
 * The facts of a purchase or show an e-mail tabulates (event, venue, times, seats, amounts, the
 * purchase id), as text lines (each label padded to one column: `Venue:     Olympic Hall`) and as
 * an HTML table, escaped.
 */
function factTable(facts: Fact[]): { text: string[]; html: string } {
  const text = facts.map(
    ({ label, value }) => `${`${label}:`.padEnd(FACT_LABEL_WIDTH)}${Array.isArray(value) ? value.join('; ') : value}`,
  );
  const rows = facts.map(({ label, value, code }) => {
    const cell = Array.isArray(value)
      ? `<ul>${value.map((item) => `<li>${escapeHtml(item)}</li>`).join('')}</ul>`
      : code
        ? `<code>${escapeHtml(value)}</code>`
        : escapeHtml(value);
    return `<tr><th align="left">${escapeHtml(label)}</th><td>${cell}</td></tr>`;
  });
  return { text, html: `<table cellpadding="4">\n${rows.join('\n')}\n</table>` };
}
