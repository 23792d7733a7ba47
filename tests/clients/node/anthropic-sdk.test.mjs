// The Anthropic TypeScript SDK (@anthropic-ai/sdk) against the real proxy's Messages API (/v1/messages).
// The Python SDK's tests of the same routes: tests/e2e/test_anthropic_messages.py.
// Run by tests/clients/test_node_clients.py with `node --test`; it starts the stack and sets:
//   PROXY_URL  the proxy's root (http://127.0.0.1:PORT), API_KEY  a key the proxy accepts,
//   RESTRICTED_KEY  a keys-file key allowed my-custom-model only.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import Anthropic, {
  APIError, AuthenticationError, BadRequestError, NotFoundError, PermissionDeniedError,
} from '@anthropic-ai/sdk';

const { PROXY_URL, API_KEY, RESTRICTED_KEY } = process.env;
assert.ok(PROXY_URL && API_KEY && RESTRICTED_KEY, 'PROXY_URL, API_KEY and RESTRICTED_KEY must be set');

const options = { baseURL: PROXY_URL, maxRetries: 0, timeout: 30_000 };
const client = new Anthropic({ ...options, apiKey: API_KEY });
// The business backend, and a LaaS model: the LaaS mock answers as its preset.
const ANSWERER = { 'my-custom-model': 'my-custom-model', 'claude-3.5-sonnet': 'laas-preset' };
const MODELS = Object.keys(ANSWERER);
// LaaS cannot stream: the proxy hands its whole answer out as one text delta (src/adapter/providers/laas.py).
const STREAMS_PIECES = { 'my-custom-model': true, 'claude-3.5-sonnet': false };
// Pieces 30 ms apart: a client that keeps up gets them one by one (the proxy merges pieces that arrive together).
const PACED = ' [mock:chunk_delay=30]';

const WEATHER = {
  name: 'get_weather',
  description: 'Current weather in a city',
  input_schema: {
    type: 'object',
    properties: {
      city: { type: 'string', description: 'City name' },
      unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    },
    required: ['city', 'unit'],
  },
};
const WEATHER_ARGS = { city: 'Paris', unit: 'celsius' };
const WEATHER_RESULT = '18 C and sunny in Paris';
const HI = [{ role: 'user', content: 'hi' }];
const TOOL_PROMPT = `What's the weather in Paris? [mock:tool=get_weather] [mock:args=${JSON.stringify(WEATHER_ARGS)}]`;

// The error the call rejects with, checked to be of `Class`.
async function rejection(promise, Class) {
  const error = await promise.then(
    (value) => assert.fail(`expected ${Class.name}, got ${JSON.stringify(value)}`), (caught) => caught);
  assert.ok(error instanceof Class, `expected ${Class.name}, got ${error?.constructor?.name}: ${error?.message}`);
  return error;
}

// The event types of a stream are Anthropic's grammar: message_start, then one or more blocks
// (content_block_start, content_block_delta…, content_block_stop, with the block's index), message_delta,
// message_stop.
function assertAnthropicOrder(events) {
  const types = events.map((event) => event.type).join(' ');
  const block = '( content_block_start( content_block_delta)* content_block_stop)';
  assert.match(types, new RegExp(`^message_start${block}+ message_delta message_stop$`), types);
  let index = -1;
  for (const event of events) {
    if (event.type === 'content_block_start') assert.equal(event.index, ++index, types);
    if (event.type === 'content_block_delta' || event.type === 'content_block_stop') assert.equal(event.index, index);
  }
}

for (const model of MODELS) {
  const answerer = ANSWERER[model];

  describe(`messages on ${model}`, () => {
    test('create answers text with usage and stop_reason end_turn', async () => {
      const message = await client.messages.create({
        model, max_tokens: 100, messages: [{ role: 'user', content: 'Hello there' }],
      });
      assert.equal(message.type, 'message');
      assert.equal(message.role, 'assistant');
      assert.equal(message.content.length, 1);
      assert.equal(message.content[0].type, 'text');
      assert.equal(message.content[0].text, `Mock answer from ${answerer}: Hello there`);
      assert.equal(message.stop_reason, 'end_turn');
      assert.equal(message.stop_sequence, null);
      assert.ok(message.usage.input_tokens > 0 && message.usage.output_tokens > 0, JSON.stringify(message.usage));
    });

    test('create stops with stop_reason max_tokens', async () => {
      const message = await client.messages.create({
        model, max_tokens: 2, messages: [{ role: 'user', content: 'one two three four five six' }],
      });
      assert.equal(message.stop_reason, 'max_tokens');
      assert.ok(message.content[0].text.length < `Mock answer from ${answerer}: one two three four five six`.length,
        message.content[0].text);
    });

    test('stream: events in Anthropic order, text deltas adding up to finalMessage', async () => {
      const stream = client.messages.stream({
        model, max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user', content: 'Stream this' + PACED }],
      });
      const deltas = [];
      stream.on('text', (delta) => deltas.push(delta));
      const events = [];
      for await (const event of stream) events.push(event);
      const final = await stream.finalMessage();
      const expected = `Mock answer from ${answerer}: Stream this${PACED}`;
      assertAnthropicOrder(events);
      if (STREAMS_PIECES[model]) {
        assert.ok(deltas.filter(Boolean).length >= 2, `one piece only: ${JSON.stringify(deltas)}`);
      }
      assert.equal(deltas.join(''), expected);
      assert.equal(await stream.finalText(), expected);
      assert.equal(events[0].message.role, 'assistant');
      assert.equal(final.content.length, 1);
      assert.equal(final.content[0].text, expected);
      assert.equal(final.stop_reason, 'end_turn');
      const delta = events.find((event) => event.type === 'message_delta');
      assert.equal(delta.delta.stop_reason, 'end_turn');
      assert.ok(final.usage.output_tokens > 0, JSON.stringify(final.usage));
    });

    test('stream stops with stop_reason max_tokens', async () => {
      const stream = client.messages.stream({
        model, max_tokens: 2, messages: [{ role: 'user', content: 'one two three four five six' }],
      });
      assert.equal((await stream.finalMessage()).stop_reason, 'max_tokens');
    });

    test('create answers a tool_use turn with the input the model chose', async () => {
      const message = await client.messages.create({
        model, max_tokens: 200, tools: [WEATHER], messages: [{ role: 'user', content: TOOL_PROMPT }],
      });
      assert.equal(message.stop_reason, 'tool_use');
      const calls = message.content.filter((block) => block.type === 'tool_use');
      assert.equal(calls.length, 1, JSON.stringify(message.content));
      assert.equal(calls[0].name, 'get_weather');
      assert.deepEqual(calls[0].input, WEATHER_ARGS);
      assert.ok(calls[0].id, 'a tool_use block without id');
    });

    test('stream: tool_use arrives as input_json_delta; finalMessage has its input', async () => {
      const stream = client.messages.stream({
        model, max_tokens: 200, tools: [WEATHER], messages: [{ role: 'user', content: TOOL_PROMPT }],
      });
      const events = [];
      for await (const event of stream) events.push(event);
      const final = await stream.finalMessage();
      assertAnthropicOrder(events);
      const start = events.find(
        (event) => event.type === 'content_block_start' && event.content_block.type === 'tool_use');
      assert.ok(start, JSON.stringify(events.map((event) => event.type)));
      assert.equal(start.content_block.name, 'get_weather');
      const json = events
        .filter((event) => event.type === 'content_block_delta' && event.index === start.index)
        .map((event) => { assert.equal(event.delta.type, 'input_json_delta'); return event.delta.partial_json; })
        .join('');
      assert.deepEqual(JSON.parse(json), WEATHER_ARGS);
      assert.equal(final.stop_reason, 'tool_use');
      const call = final.content.find((block) => block.type === 'tool_use');
      assert.equal(call.id, start.content_block.id);
      assert.deepEqual(call.input, WEATHER_ARGS);
    });

    test('tool round trip: the tool_result reaches the next answer', async () => {
      const messages = [{ role: 'user', content: TOOL_PROMPT }];
      const first = await client.messages.stream({ model, max_tokens: 200, tools: [WEATHER], messages }).finalMessage();
      const call = first.content.find((block) => block.type === 'tool_use');
      assert.ok(call, JSON.stringify(first.content));
      messages.push({ role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: WEATHER_RESULT }] });
      const final = await client.messages.create({ model, max_tokens: 200, tools: [WEATHER], messages });
      assert.equal(final.stop_reason, 'end_turn');
      assert.equal(final.content.length, 1);
      assert.equal(final.content[0].text, `Mock answer from ${answerer}: the tool returned ${WEATHER_RESULT}`);
    });

    test('countTokens counts more for a longer prompt', async () => {
      const count = (content) => client.messages.countTokens({ model, messages: [{ role: 'user', content }] });
      const short = await count('Count these words');
      const long = await count('Count these words, and these ones too, and a few more after them');
      assert.deepEqual(Object.keys(short), ['input_tokens']);  // Anthropic's answer has no other field
      assert.ok(short.input_tokens > 0 && long.input_tokens > short.input_tokens,
        `${short.input_tokens} ${long.input_tokens}`);
    });
  });
}

describe('models', () => {
  test('models.list in Anthropic shape names every model, retrieve one', async () => {
    const ids = [];
    for await (const model of client.models.list()) {
      assert.equal(model.type, 'model');
      assert.ok(model.display_name, JSON.stringify(model));
      ids.push(model.id);
    }
    for (const model of MODELS) assert.ok(ids.includes(model), JSON.stringify(ids));
    const model = await client.models.retrieve('claude-3.5-sonnet');
    assert.deepEqual([model.type, model.id, model.display_name], ['model', 'claude-3.5-sonnet', 'claude-3.5-sonnet']);
    assert.ok(new Date(model.created_at).getUTCFullYear() >= 2023, model.created_at);
  });
});

describe('errors', () => {
  const wrong = new Anthropic({ ...options, apiKey: 'sk-wrong' });
  const asked = { model: 'secret-model', messages: HI };

  for (const [call, send] of [
    ['messages.create', () => wrong.messages.create({ ...asked, max_tokens: 10 })],
    ['messages.stream', () => wrong.messages.stream({ ...asked, max_tokens: 10 }).finalMessage()],
    ['countTokens', () => wrong.messages.countTokens(asked)],
    ['models.list', () => wrong.models.list()],
  ]) {
    test(`a wrong key is an AuthenticationError (401, authentication_error) on ${call}`, async () => {
      const error = await rejection(send(), AuthenticationError);
      assert.equal(error.status, 401);
      assert.equal(error.error.type, 'error');
      assert.equal(error.type, 'authentication_error');
      assert.ok(error.apiMessage, JSON.stringify(error.error));
      assert.ok(!error.message.includes('secret-model'), error.message);
    });
  }

  test('a key not allowed the model is a PermissionDeniedError (403) before the body is checked', async () => {
    const team = new Anthropic({ ...options, apiKey: RESTRICTED_KEY });
    const error = await rejection(
      team.post('/v1/messages', { body: { model: 'claude-3.5-sonnet', messages: 'bad' } }), PermissionDeniedError);
    assert.equal(error.status, 403);
    assert.equal(error.type, 'permission_error');
    assert.match(error.apiMessage, /claude-3\.5-sonnet/);
    assert.ok(!error.apiMessage.includes('messages'), error.apiMessage);
    const stream = team.messages.stream({
      model: 'claude-3.5-sonnet', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal((await rejection(stream.finalMessage(), PermissionDeniedError)).type, 'permission_error');
    // its own model is answered
    const answer = await team.messages.create({
      model: 'my-custom-model', max_tokens: 20, messages: [{ role: 'user', content: 'team' }],
    });
    assert.equal(answer.content[0].text, 'Mock answer from my-custom-model: team');
  });

  test('an unknown model is a NotFoundError (404, not_found_error) naming it, as Anthropic answers it', async () => {
    const unknown = { model: 'claude-9-opus', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
    for (const send of [
      () => client.messages.create(unknown),
      () => client.messages.stream(unknown).finalMessage(),
      () => client.models.retrieve('claude-9-opus'),
    ]) {
      const error = await rejection(send(), NotFoundError);
      assert.equal(error.status, 404);
      assert.equal(error.error.type, 'error');
      assert.equal(error.type, 'not_found_error');
      assert.match(error.apiMessage, /claude-9-opus/);
    }
  });

  for (const [what, body, field] of [
    ['max_tokens missing', { messages: HI }, 'max_tokens'],
    ['no messages', { max_tokens: 10, messages: [] }, 'messages'],
    ['a role that is not one', { max_tokens: 10, messages: [{ role: 'robot', content: 'hi' }] }, 'messages.0.role'],
    ['a tool without input_schema', { max_tokens: 10, tools: [{ name: 't' }], messages: HI }, 'tools.0.input_schema'],
    ['a temperature that is not a number', { max_tokens: 10, temperature: 'hot', messages: HI }, 'temperature'],
  ]) {
    test(`a bad body (${what}) is a BadRequestError (400, invalid_request_error) naming ${field}`, async () => {
      const error = await rejection(client.messages.create({ model: 'my-custom-model', ...body }), BadRequestError);
      assert.equal(error.status, 400);
      assert.equal(error.error.type, 'error');
      assert.equal(error.type, 'invalid_request_error');
      assert.ok(error.apiMessage.startsWith(`${field}:`), error.apiMessage);
    });
  }

  test('a stream failing midway raises the error event as an APIError (api_error)', async () => {
    const stream = client.messages.stream({
      model: 'my-custom-model', max_tokens: 50, messages: [{ role: 'user', content: 'a b c [mock:fail_after=2]' }],
    });
    const received = [];
    stream.on('text', (delta) => received.push(delta));
    const error = await rejection(stream.finalMessage(), APIError);
    assert.equal(received.join(''), 'Mock answer ');
    assert.equal(error.type, 'api_error');
    assert.match(error.apiMessage, /fail_after/);
    assert.ok(!/Traceback|litellm\./.test(error.apiMessage), error.apiMessage);
  });
});
