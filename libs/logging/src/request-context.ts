import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContextStore {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContextStore>();

/** Carries the request id through every await of a request, so every log line can name it. */
export const RequestContext = {
  /**
   * Makes `store` the context for the rest of the current callback and everything it starts.
   * For a request's first hook: each request enters its own store before anything of it runs,
   * so a store left on the connection's parser only lasts until its next request enters.
   */
  enter(store: RequestContextStore): void {
    storage.enterWith(store);
  },
  requestId(): string | undefined {
    return storage.getStore()?.requestId;
  },
};
