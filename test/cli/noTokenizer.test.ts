// A model without a tokenizer works in every command through --tokens: tokens and answers are
// labelled by id (`#42`), and an answer is given by id too.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { cli, FIXTURE } from './helpers.js';

describeBackends(
  'commands on a model without a tokenizer',
  () => {
    let model: string;
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'lazylens-notok-'));
      model = join(dir, 'gpt2-tiny-no-tokenizer');
      mkdirSync(model);
      for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(FIXTURE, f), join(model, f));
    });

    it.each(
      [
        ['run'],
        ['dla'],
        ['dla', '--by', 'all'],
        ['dla', '--answer', '#7'],
        ['lens'],
        ['attention'],
        ['explain'],
        ['test-prompt', '--answer', '#7,#5'],
        ['demo'],
        ['info'],
      ].map((args) => [args.join(' '), args]),
    )('%s works with --tokens, labelling tokens by id', async (_name, args) => {
      const html = join(dir, `${args.join('-').replace(/#/g, '')}.html`);
      const withHtml = args[0] === 'test-prompt' || args[0] === 'info' ? [] : ['--html', html];
      const r = await cli(...args, '--model', model, '--tokens', '5,6,7,5,6', ...withHtml);
      expect(r.stderr).not.toMatch(/Error|error/);
      expect(r.code).toBe(0);
      if (args[0] !== 'info') expect(r.stdout).toMatch(/#\d+/);
      if (withHtml.length) expect(readFileSync(html, 'utf8')).toMatch(/#5/);
      const json = await cli(...args, '--model', model, '--tokens', '5,6,7,5,6', '--json');
      expect(json.code, json.stderr).toBe(0);
      expect(() => JSON.parse(json.stdout) as unknown).not.toThrow();
    });

    it('says what to do when a command needs text', async () => {
      const r = await cli('run', '--model', model, '--prompt', 'hello');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no tokenizer, so --prompt text cannot be read; expected .* --tokens 1,2,3/);
      const builtin = await cli('dla', '--model', model);
      expect(builtin.stderr).toMatch(/no tokenizer, so no built-in prompt can be made/);
      const answer = await cli('dla', '--model', model, '--tokens', '1,2', '--answer', 'cat');
      expect(answer.code).toBe(2);
      expect(answer.stderr).toMatch(/--answer "cat": this model has no tokenizer .* --answer '#42'/);
      const big = await cli('dla', '--model', model, '--tokens', '1,2', '--answer', '#99999');
      expect(big.stderr).toMatch(/--answer: token id 99999 given; expected an integer in \[0, \d+\)/);
      const tp = await cli('test-prompt', '--model', model, '--tokens', '1,2', '--answer', 'cat');
      expect(tp.stderr).toMatch(/this model has no tokenizer .* --answer '#5,#6'/);
    });
  },
  WASM_ONLY,
);
