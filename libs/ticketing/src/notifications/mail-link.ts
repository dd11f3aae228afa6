import { MAIL_LINK_TOKEN } from '@app/config';

/**
 * The link of a link setting, validated by the config's mailLinkUrlProblem: each `placeholder` in
 * `url` replaced by the URL-encoded `value`. The token links (PASSWORD_RESET_URL,
 * EMAIL_VERIFICATION_URL) hold `{token}`, the default; TICKET_TRANSFER_URL holds `{transferId}`.
 */
export function mailLink(url: string, value: string, placeholder: string = MAIL_LINK_TOKEN): string {
  return url.replaceAll(placeholder, encodeURIComponent(value));
}
