"""OpenAI's wire format as plain data: parameter policy, options, messages, answer shapes, embeddings, tokens, kinds."""
