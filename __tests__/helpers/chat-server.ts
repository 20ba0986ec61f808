/**
 * A scriptable local server speaking the OpenAI chat completions protocol, on 127.0.0.1 and a random port,
 * for tests of the openai proposer. `POST /v1/chat/completions` and `POST /chat/completions` take the next
 * scripted response from a queue (then the fallback, by default a 500 saying the script ran out); every
 * request is recorded (method, path, headers, raw and parsed body) so tests can assert the prompt, the
 * retry message and the Authorization header. Nothing leaves the loopback interface.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the server received. */
export interface RecordedRequest {
  method: string;
  /** Path with query, e.g. '/v1/chat/completions'. */
  path: string;
  /** Header names are lower-case (node:http). */
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: ChatRequestBody | undefined;
}

/** The part of a chat completions request body the tests read. */
export interface ChatRequestBody {
  model: string;
  messages: { role: string; content: string }[];
  response_format?: { type: string };
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  [key: string]: unknown;
}

/** Token counts to report; missing ones are estimated as ceil(chars / 4) of the request body / content. */
export interface UsageSpec {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

/** What the server answers to one request. */
export type ScriptedResponse =
  /** A 200 chat completion whose first choice has `content`. */
  | {
      kind: 'completion';
      content: string | null;
      finishReason?: string;
      /** Usage to report; null omits the usage object. */
      usage?: UsageSpec | null;
    }
  /** An HTTP error with an OpenAI-style JSON error body `{error: {message, type, code, param}}`. */
  | { kind: 'error'; status: number; message: string; code?: string; headers?: Record<string, string> }
  /** Any status, content type and body (garbage, HTML...). */
  | { kind: 'raw'; status: number; body: string; contentType?: string }
  /** Never answers; the connection stays open until the client gives up or the server closes. */
  | { kind: 'hang' };

/** A scripted response, or a function of the request that returns one. */
export type Script = ScriptedResponse | ((req: RecordedRequest) => ScriptedResponse);

/** A running chat server. */
export interface ChatServer {
  /** e.g. `http://127.0.0.1:40123/v1` (what a client's baseURL should be). */
  baseURL: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Appends responses to the queue. */
  enqueue(...responses: Script[]): void;
  /** Answer used when the queue is empty (default: a 500 "no scripted response left"). */
  setFallback(response: Script): void;
  /** Responses still queued. */
  pending(): number;
  /** Stops the server and destroys open connections (hanging ones included). */
  close(): Promise<void>;
}

/** Fixed `created` timestamp of every completion (seconds since the epoch), for deterministic bodies. */
export const CREATED = 1_700_000_000;

const estimate = (text: string): number => Math.ceil(text.length / 4);

/** Builders of common scripted responses. */
export const reply = {
  /** A completion whose content is `JSON.stringify(answer)`. */
  json(answer: unknown, opts: { finishReason?: string; usage?: UsageSpec | null } = {}): ScriptedResponse {
    return { kind: 'completion', content: JSON.stringify(answer), ...opts };
  },
  /** A completion with this exact content. */
  text(
    content: string | null,
    opts: { finishReason?: string; usage?: UsageSpec | null } = {},
  ): ScriptedResponse {
    return { kind: 'completion', content, ...opts };
  },
  /** 429 with `retry-after` (seconds, default 0) as OpenAI sends it. */
  rateLimited(retryAfterSeconds = 0): ScriptedResponse {
    return {
      kind: 'error',
      status: 429,
      message: 'Rate limit reached for requests. Please try again later.',
      code: 'rate_limit_exceeded',
      headers: { 'retry-after': String(retryAfterSeconds) },
    };
  },
  /** 500; `retry-after-ms: 0` so the SDK retries without its backoff. */
  serverError(): ScriptedResponse {
    return {
      kind: 'error',
      status: 500,
      message: 'The server had an error while processing your request.',
      code: 'server_error',
      headers: { 'retry-after-ms': '0' },
    };
  },
  /** 401 whose message echoes the whole bearer token received (a worst case: real servers echo part of it). */
  unauthorizedEchoingKey(): Script {
    return (req) => {
      const auth = String(req.headers.authorization ?? '');
      return {
        kind: 'error',
        status: 401,
        message: `Incorrect API key provided: ${auth.replace(/^Bearer\s+/i, '')}. You can find your API key at https://example.invalid/keys.`,
        code: 'invalid_api_key',
      };
    };
  },
  /** No answer at all. */
  hang(): ScriptedResponse {
    return { kind: 'hang' };
  },
};

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

/** Starts a chat server on 127.0.0.1 at a random free port. */
export async function startChatServer(): Promise<ChatServer> {
  const requests: RecordedRequest[] = [];
  const queue: Script[] = [];
  let fallback: Script = {
    kind: 'error',
    status: 500,
    message: 'chat-server: no scripted response left',
    code: 'test_script_exhausted',
    headers: { 'retry-after-ms': '0', 'x-should-retry': 'false' },
  };
  let completions = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: ChatRequestBody | undefined;
      try {
        body = JSON.parse(rawBody) as ChatRequestBody;
      } catch {
        body = undefined;
      }
      const path = req.url ?? '/';
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path,
        headers: req.headers,
        rawBody,
        body,
      };
      requests.push(recorded);

      const route = path.split('?')[0];
      if (req.method !== 'POST' || (route !== '/v1/chat/completions' && route !== '/chat/completions')) {
        send(
          res,
          404,
          JSON.stringify({
            error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error' },
          }),
          { 'content-type': 'application/json' },
        );
        return;
      }
      const script = queue.length ? queue.shift()! : fallback;
      const scripted = typeof script === 'function' ? script(recorded) : script;
      switch (scripted.kind) {
        case 'hang':
          return;
        case 'raw':
          send(res, scripted.status, scripted.body, { 'content-type': scripted.contentType ?? 'text/plain' });
          return;
        case 'error':
          send(
            res,
            scripted.status,
            JSON.stringify({
              error: {
                message: scripted.message,
                type: scripted.status === 429 ? 'requests' : 'invalid_request_error',
                param: null,
                code: scripted.code ?? null,
              },
            }),
            { 'content-type': 'application/json', ...scripted.headers },
          );
          return;
        case 'completion': {
          completions++;
          const promptTokens = scripted.usage?.prompt_tokens ?? estimate(rawBody);
          const completionTokens = scripted.usage?.completion_tokens ?? estimate(scripted.content ?? '');
          const completion = {
            id: `chatcmpl-test-${completions}`,
            object: 'chat.completion',
            created: CREATED,
            model: body?.model ?? 'unknown',
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content: scripted.content, refusal: null },
                logprobs: null,
                finish_reason: scripted.finishReason ?? 'stop',
              },
            ],
            ...(scripted.usage === null
              ? {}
              : {
                  usage: {
                    prompt_tokens: promptTokens,
                    completion_tokens: completionTokens,
                    total_tokens: scripted.usage?.total_tokens ?? promptTokens + completionTokens,
                  },
                }),
          };
          send(res, 200, JSON.stringify(completion), {
            'content-type': 'application/json',
            'x-request-id': `req_test_${completions}`,
          });
          return;
        }
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...responses) => void queue.push(...responses),
    setFallback: (response) => {
      fallback = response;
    },
    pending: () => queue.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
