/**
 * `call`, or a rejection once `timeoutMs` (PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS) have passed
 * without its answer: a gateway call that a row lock or a refund pass waits on must end.
 */
export async function boundedGatewayCall<T>(call: Promise<T>, what: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`payment gateway ${what} unanswered after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(timer);
  }
}
