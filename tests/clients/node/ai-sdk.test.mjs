// The Vercel AI SDK (ai + @ai-sdk/openai-compatible) against the real proxy.
// Run by tests/clients/test_node_clients.py with `node --test`; it starts the stack and sets:
//   PROXY_URL                the proxy's root (http://127.0.0.1:PORT), API_KEY  a key the proxy accepts,
//   EXPECTED_EMBEDDINGS      a JSON file {text: vector} with the openai SDK's float vectors for some texts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import {
  APICallError, embed, embedMany, generateImage, generateObject, generateText, jsonSchema, stepCountIs,
  streamObject, streamText, tool,
} from 'ai';
import { z } from 'zod';

// generateObject without structured outputs (json_object mode) warns on purpose: that path is tested.
globalThis.AI_SDK_LOG_WARNINGS = false;

const { PROXY_URL, API_KEY, EXPECTED_EMBEDDINGS } = process.env;
assert.ok(PROXY_URL && API_KEY && EXPECTED_EMBEDDINGS, 'PROXY_URL, API_KEY and EXPECTED_EMBEDDINGS must be set');

const settings = { name: 'proxy', baseURL: `${PROXY_URL}/v1`, apiKey: API_KEY };
const proxy = createOpenAICompatible(settings);
// With supportsStructuredOutputs the SDK sends response_format json_schema; without, json_object.
const strictProxy = createOpenAICompatible({ ...settings, supportsStructuredOutputs: true });
const chatModel = proxy.chatModel('my-custom-model');
// Providers whose request bodies are kept, to check what the SDK really sent.
function recording(extra = {}) {
  const bodies = [];
  const fetchAndRecord = async (url, init) => {
    bodies.push(JSON.parse(init.body));
    return fetch(url, init);
  };
  return { bodies, provider: createOpenAICompatible({ ...settings, ...extra, fetch: fetchAndRecord }) };
}
const common = { maxRetries: 0 };
// Pieces 30 ms apart: a client that keeps up gets them one by one (the proxy merges pieces that arrive together).
const PACED = ' [mock:chunk_delay=30]';

const WEATHER_RESULT = '18 C and sunny in Paris';
const MINIMAL_WEATHER_ARGS = { city: 'string', unit: 'celsius' };  // the mock's minimal instance
const weatherInput = z.object({ city: z.string().describe('City name'), unit: z.enum(['celsius', 'fahrenheit']) });
const timeInput = z.object({ tz: z.string() });
const executed = [];
const tools = {
  get_weather: tool({
    description: 'Current weather in a city',
    inputSchema: weatherInput,
    execute: async (input) => { executed.push(input); return WEATHER_RESULT; },
  }),
  get_time: tool({ description: 'Current time in a time zone', inputSchema: timeInput, execute: async () => '12:00' }),
};
// The same tools without execute: the SDK returns the calls and stops (no second request).
const declaredTools = {
  get_weather: tool({ description: 'Current weather in a city', inputSchema: weatherInput }),
  get_time: tool({ description: 'Current time in a time zone', inputSchema: timeInput }),
};

function norm(vector) {
  return Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
}

function assertCloseVectors(got, want) {
  assert.equal(got.length, want.length);
  const worst = Math.max(...got.map((x, i) => Math.abs(x - want[i])));
  assert.ok(worst <= 1e-5, `vectors differ by up to ${worst}`);
}

function pngSize(bytes) {  // width and height from the IHDR chunk of a PNG
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'not a PNG signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return [view.getUint32(16), view.getUint32(20)];
}

describe('chat', () => {
  test('generateText answers with usage', async () => {
    const result = await generateText({ model: chatModel, prompt: 'Hello', ...common });
    assert.equal(result.text, 'Mock answer from my-custom-model: Hello');
    assert.equal(result.finishReason, 'stop');
    assert.ok(result.usage.inputTokens > 0 && result.usage.outputTokens > 0, JSON.stringify(result.usage));
  });

  test('system and earlier turns reach the model; the answer is to the last user turn', async () => {
    const result = await generateText({
      model: chatModel, system: 'Be brief.', ...common,
      messages: [
        { role: 'user', content: 'First question' },
        { role: 'assistant', content: 'First answer' },
        { role: 'user', content: 'Second question' },
      ],
    });
    assert.equal(result.text, 'Mock answer from my-custom-model: Second question');
  });

  test('the generation settings apps set are accepted', async () => {
    const result = await generateText({
      model: chatModel, prompt: 'Hi', temperature: 0.2, topP: 0.9, maxOutputTokens: 64, presencePenalty: 0,
      frequencyPenalty: 0, seed: 7, stopSequences: ['###'], ...common,
    });
    assert.equal(result.text, 'Mock answer from my-custom-model: Hi');
  });

  test('streamed usage with includeUsage', async () => {
    const counting = createOpenAICompatible({ ...settings, includeUsage: true });
    const result = streamText({ model: counting.chatModel('my-custom-model'), prompt: 'Count me', ...common });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.equal(text, 'Mock answer from my-custom-model: Count me');
    const usage = await result.usage;
    assert.ok(usage.inputTokens > 0 && usage.outputTokens > 0, JSON.stringify(usage));
  });

  test('legacy completions through completionModel', async () => {
    const result = await generateText({ model: proxy.completionModel('my-custom-model'), prompt: 'Hello', ...common });
    // The SDK turns the prompt into a transcript ("user:\nHello\n\nassistant:\n"), which the mock echoes.
    assert.equal(result.text, 'Mock answer from my-custom-model: user:\nHello\n\nassistant:\n');
    assert.equal(result.finishReason, 'stop');
  });

  test('streamText streams several deltas that add up to the whole answer', async () => {
    const result = streamText({ model: chatModel, prompt: 'Stream this, please.' + PACED, ...common });
    const deltas = [];
    for await (const delta of result.textStream) deltas.push(delta);
    assert.ok(deltas.filter(Boolean).length >= 2, `one piece only: ${JSON.stringify(deltas)}`);
    assert.equal(deltas.join(''), 'Mock answer from my-custom-model: Stream this, please.' + PACED);
    assert.equal(await result.finishReason, 'stop');
  });
});

describe('tools', () => {
  test('generateText runs the tool loop: call, execute, answer quoting the result', async () => {
    executed.length = 0;
    const result = await generateText({
      model: chatModel, tools, stopWhen: stepCountIs(4), ...common,
      prompt: 'Weather in Paris? [mock:tool=get_weather]',
    });
    assert.equal(result.steps.length, 2, JSON.stringify(result.steps.map((s) => s.finishReason)));
    const [first, second] = result.steps;
    assert.equal(first.finishReason, 'tool-calls');
    assert.equal(first.toolCalls.length, 1);
    assert.equal(first.toolCalls[0].toolName, 'get_weather');
    assert.match(first.toolCalls[0].toolCallId, /^call_/);
    assert.deepEqual(first.toolCalls[0].input, MINIMAL_WEATHER_ARGS);
    assert.deepEqual(executed, [MINIMAL_WEATHER_ARGS]);
    assert.equal(second.finishReason, 'stop');
    assert.equal(result.text, `Mock answer from my-custom-model: the tool returned ${WEATHER_RESULT}`);
  });

  test('[mock:args=…] arguments arrive as given', async () => {
    const args = { city: 'Oslo', unit: 'fahrenheit' };
    const result = await generateText({
      model: chatModel, tools: declaredTools, ...common,
      prompt: `Weather? [mock:tool=get_weather] [mock:args=${JSON.stringify(args)}]`,
    });
    assert.deepEqual(result.toolCalls.map((c) => [c.toolName, c.input]), [['get_weather', args]]);
  });

  test('toolChoice naming a tool calls it; "required" calls the first; "none" and "auto" answer text', async () => {
    const named = await generateText({
      model: chatModel, tools: declaredTools, toolChoice: { type: 'tool', toolName: 'get_time' }, prompt: 'now?', ...common,
    });
    assert.deepEqual(named.toolCalls.map((c) => [c.toolName, c.input]), [['get_time', { tz: 'string' }]]);
    const required = await generateText({
      model: chatModel, tools: declaredTools, toolChoice: 'required', prompt: 'anything', ...common,
    });
    assert.deepEqual(required.toolCalls.map((c) => c.toolName), ['get_weather']);
    const none = await generateText({
      model: chatModel, tools: declaredTools, toolChoice: 'none', prompt: 'Hi [mock:tool=get_weather]', ...common,
    });
    assert.deepEqual(none.toolCalls, []);
    assert.equal(none.finishReason, 'stop');
    const auto = await generateText({ model: chatModel, tools: declaredTools, prompt: 'Hello', ...common });
    assert.deepEqual(auto.toolCalls, []);
    assert.equal(auto.text, 'Mock answer from my-custom-model: Hello');
  });

  test('parallel calls streamed: fragments per call, the same calls as without streaming, distinct ids', async () => {
    const prompt = 'Both please [mock:tool=get_weather,get_time]' + PACED;
    const whole = await generateText({ model: chatModel, tools: declaredTools, prompt, ...common });
    assert.equal(whole.finishReason, 'tool-calls');
    const result = streamText({ model: chatModel, tools: declaredTools, prompt, ...common });
    const starts = [];
    const fragments = {};
    const calls = [];
    for await (const part of result.fullStream) {
      if (part.type === 'tool-input-start') starts.push([part.id, part.toolName]);
      if (part.type === 'tool-input-delta') (fragments[part.id] ??= []).push(part.delta);
      if (part.type === 'tool-call') calls.push(part);
      if (part.type === 'error') throw part.error;
    }
    assert.equal(await result.finishReason, 'tool-calls');
    const summary = (list) => list.map((c) => [c.toolCallId, c.toolName, c.input]);
    assert.deepEqual(summary(calls), summary(whole.toolCalls));
    assert.deepEqual(calls.map((c) => c.toolName), ['get_weather', 'get_time']);
    assert.equal(new Set(calls.map((c) => c.toolCallId)).size, 2, 'parallel calls share an id');
    assert.deepEqual(starts.map(([, name]) => name), ['get_weather', 'get_time']);
    for (const call of calls) {
      const pieces = fragments[call.toolCallId] ?? [];
      assert.ok(pieces.length >= 2, `arguments of ${call.toolName} came in ${pieces.length} fragment(s)`);
      assert.deepEqual(JSON.parse(pieces.join('')), call.input);
    }
  });

  test('streamText runs the tool loop too', async () => {
    executed.length = 0;
    const result = streamText({
      model: chatModel, tools, stopWhen: stepCountIs(4), ...common,
      prompt: 'Weather in Paris? [mock:tool=get_weather]',
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.equal(text, `Mock answer from my-custom-model: the tool returned ${WEATHER_RESULT}`);
    assert.deepEqual(executed, [MINIMAL_WEATHER_ARGS]);
    assert.equal((await result.steps).length, 2);
  });
});

describe('structured output', () => {
  const person = z.object({ name: z.string(), age: z.number().int().min(1), tags: z.array(z.string()) });

  test('generateObject with json_schema: the minimal instance of the schema', async () => {
    const { bodies, provider } = recording({ supportsStructuredOutputs: true });
    const result = await generateObject({
      model: provider.chatModel('my-custom-model'), schema: person, schemaName: 'Person',
      prompt: 'Describe a person', ...common,
    });
    assert.equal(bodies[0].response_format.type, 'json_schema');
    assert.deepEqual(result.object, { name: 'string', age: 1, tags: [] });
    assert.equal(result.finishReason, 'stop');
  });

  test('generateObject with nested objects, enums, a date and a non-empty array', async () => {
    const address = z.object({ street: z.string(), city: z.enum(['Paris', 'Oslo']) });
    const order = z.object({
      id: z.number().int().positive(), when: z.iso.date(), shipTo: address, items: z.array(address).min(1),
      note: z.string().optional(), status: z.enum(['open', 'closed']),
    });
    const result = await generateObject({
      model: strictProxy.chatModel('my-custom-model'), schema: order, prompt: 'An order', ...common,
    });
    const paris = { street: 'string', city: 'Paris' };
    assert.deepEqual(result.object, { id: 1, when: '2026-01-01', shipTo: paris, items: [paris], status: 'open' });
  });

  test('generateObject with json_object: the document the mock was told to write', async () => {
    const wanted = { name: 'Ada', age: 36, tags: ['math', 'engines'] };
    const { bodies, provider } = recording();
    const result = await generateObject({
      model: provider.chatModel('my-custom-model'), schema: person, ...common,
      prompt: `Describe Ada [mock:json=${JSON.stringify(wanted)}]`,
    });
    assert.deepEqual(bodies[0].response_format, { type: 'json_object' });
    assert.deepEqual(result.object, wanted);
  });

  test('generateObject with a plain JSON Schema and streamObject agree', async () => {
    const schema = jsonSchema({
      type: 'object', additionalProperties: false, required: ['city', 'when'],
      properties: { city: { type: 'string', enum: ['Paris', 'Oslo'] }, when: { type: 'string', format: 'date' } },
    });
    const model = strictProxy.chatModel('my-custom-model');
    const whole = await generateObject({ model, schema, prompt: 'Plan a trip', ...common });
    assert.deepEqual(whole.object, { city: 'Paris', when: '2026-01-01' });
    const streamed = streamObject({ model, schema, prompt: 'Plan a trip', ...common });
    const partials = [];
    for await (const partial of streamed.partialObjectStream) partials.push(partial);  // object resolves once read
    assert.ok(partials.length >= 1);
    assert.deepEqual(await streamed.object, whole.object);
  });
});

describe('embeddings', () => {
  const expected = JSON.parse(readFileSync(EXPECTED_EMBEDDINGS, 'utf8'));
  const model = proxy.embeddingModel('my-embedding-model');

  test('embed gives the same unit vector as the openai SDK', async () => {
    const { embedding, usage } = await embed({ model, value: 'alpha', ...common });
    assert.ok(Math.abs(norm(embedding) - 1) < 1e-6, `norm ${norm(embedding)}`);
    assertCloseVectors(embedding, expected.alpha);
    assert.ok(usage.tokens > 0);
  });

  test('embedMany keeps the order and matches each text', async () => {
    const texts = Object.keys(expected);
    const { embeddings } = await embedMany({ model, values: texts, ...common });
    assert.equal(embeddings.length, texts.length);
    texts.forEach((text, i) => assertCloseVectors(embeddings[i], expected[text]));
  });

  test('dimensions are honoured, still unit length', async () => {
    const { embedding } = await embed({
      model, value: 'alpha', providerOptions: { proxy: { dimensions: 64 } }, ...common,
    });
    assert.equal(embedding.length, 64);
    assert.ok(Math.abs(norm(embedding) - 1) < 1e-6);
  });
});

describe('images', () => {
  test('generateImage returns PNGs of the requested size', async () => {
    const { images } = await generateImage({
      model: proxy.imageModel('my-image-model'), prompt: 'a red bicycle', n: 2, size: '256x256', ...common,
    });
    assert.equal(images.length, 2);
    for (const image of images) assert.deepEqual(pngSize(image.uint8Array), [256, 256]);
    assert.notEqual(images[0].base64, images[1].base64);
    const wide = await generateImage({
      model: proxy.imageModel('my-image-model'), prompt: 'a wide view', size: '1536x1024', ...common,
    });
    assert.deepEqual(pngSize(wide.image.uint8Array), [1536, 1024]);  // width first: not swapped
  });
});

describe('errors', () => {
  async function callError(promise) {
    try {
      await promise;
    } catch (error) {
      return error;
    }
    assert.fail('the call succeeded');
  }

  test('an unknown model: an API error whose message names the model', async () => {
    const error = await callError(generateText({ model: proxy.chatModel('no-such-model-xyz'), prompt: 'x', ...common }));
    assert.ok(APICallError.isInstance(error), `${error?.name}: ${error?.message}`);
    assert.ok([400, 404].includes(error.statusCode), `status ${error.statusCode}`);
    assert.match(error.message, /no-such-model-xyz/);
  });

  test('an unknown model while streaming: the stream reports the error, naming the model', async () => {
    const errors = [];
    const result = streamText({
      model: proxy.chatModel('no-such-model-xyz'), prompt: 'x', onError: ({ error }) => errors.push(error), ...common,
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.equal(text, '');
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /no-such-model-xyz/);
  });

  test('a failure in the middle of a stream reaches onError with its reason', async () => {
    const errors = [];
    const result = streamText({
      model: chatModel, prompt: 'Tell me more [mock:fail_after=2]', onError: ({ error }) => errors.push(error), ...common,
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.ok(text.startsWith('Mock '), `no text before the failure: ${JSON.stringify(text)}`);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]?.message ?? errors[0]), /fail_after/);
  });

  test('a backend rate limit: 429, retryable, with the reason', async () => {
    const error = await callError(generateText({ model: chatModel, prompt: 'x [mock:status=429]', ...common }));
    assert.ok(APICallError.isInstance(error), `${error?.name}: ${error?.message}`);
    assert.equal(error.statusCode, 429);
    assert.equal(error.isRetryable, true);
    assert.match(error.message, /rate-limiting/);
  });

  test('a chat model asked for embeddings: a 400 that says why', async () => {
    const error = await callError(embed({ model: proxy.embeddingModel('my-custom-model'), value: 'x', ...common }));
    assert.ok(APICallError.isInstance(error), `${error?.name}: ${error?.message}`);
    assert.equal(error.statusCode, 400);
    assert.match(error.message, /chat model/);
  });

  test('a wrong key: 401 with a readable message', async () => {
    const wrong = createOpenAICompatible({ ...settings, apiKey: 'sk-wrong-key' });
    const error = await callError(generateText({ model: wrong.chatModel('my-custom-model'), prompt: 'x', ...common }));
    assert.ok(APICallError.isInstance(error), `${error?.name}: ${error?.message}`);
    assert.equal(error.statusCode, 401);
    assert.match(error.message, /API key/);  // the proxy's own reason, not just "Unauthorized"
  });
});
