/**
 * Tokens coloured by a value each (a loss, an attribution, an activation): a diverging scale,
 * blue above 0 and red below, white at 0; hovering a token shows its value. The colours are
 * computed here, so the page reads the same with scripts off.
 */
import { checkOptions, type OptionKeys } from '../core/checkOptions.js';
import { InvalidArgumentError } from '../errors.js';
import { escapeHtml, visibleToken } from './escape.js';
import { renderPage, type PageSection } from './page.js';
import { checkLabels, checkNumbers, readValues, squeezeTo, type NumericInput } from './readValues.js';

const WHITE = [255, 255, 255];
const BLUE = [33, 102, 172];
const RED = [178, 24, 43];

/** The colour of `t` in [-1, 1] on the red–white–blue scale, as CSS. */
export function divergingColour(t: number): string {
  const c = Math.max(-1, Math.min(1, t));
  const end = c < 0 ? RED : BLUE;
  const a = Math.abs(c);
  const rgb = WHITE.map((w, i) => Math.round(w + (end[i] - w) * a));
  return `rgb(${rgb.join(', ')})`;
}

/** Dark text on light cells, white on strong ones. */
export function textColour(t: number): string {
  return Math.abs(t) > 0.6 ? '#fff' : '#1b1f24';
}

/** How a value prints on hover. */
export function formatValue(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4);
}

/** Hovering a token writes its position, text and value into the readout. */
const BEHAVIOUR = `(data, views, root) => {
  const readout = root.querySelector('.ll-readout');
  const spans = root.querySelectorAll('.ll-strip span');
  for (const span of spans) {
    span.addEventListener('mouseenter', () => {
      const i = Number(span.dataset.pos);
      for (const s of spans) s.classList.toggle('ll-active', s === span);
      readout.textContent = i + ' ' + data.tokens[i] + ': ' + data.valueTitle + ' = ' + data.shown[i];
    });
    span.addEventListener('mouseleave', () => {
      span.classList.remove('ll-active');
      readout.textContent = data.hint;
    });
  }
}`;

/** A strip of coloured tokens with its legend and readout, as a page section. */
export function coloredTokensSection(
  id: string,
  tokens: readonly string[],
  values: readonly number[],
  valueTitle: string,
  maxAbs: number,
): PageSection {
  const shown = values.map(formatValue);
  const spans = tokens
    .map((t, i) => {
      const s = values[i] / maxAbs;
      const tip = `${visibleToken(t)}: ${shown[i]}`;
      return (
        `<span data-pos="${i}" data-value="${shown[i]}" title="${escapeHtml(tip)}" ` +
        `style="background: ${divergingColour(s)}; color: ${textColour(s)}">${escapeHtml(visibleToken(t))}</span>`
      );
    })
    .join('');
  const legend =
    `<div class="ll-legend"><span>${escapeHtml(formatValue(-maxAbs))}</span>` +
    `<i style="background: linear-gradient(to right, ${divergingColour(-1)}, #fff, ${divergingColour(1)})"></i>` +
    `<span>${escapeHtml(formatValue(maxAbs))}</span><span>${escapeHtml(valueTitle)}</span></div>`;
  const hint = 'Hover a token to read its value.';
  return {
    id,
    html: `${legend}\n<div class="ll-strip">${spans}</div>\n<div class="ll-readout">${hint}</div>`,
    data: { tokens: tokens.map(visibleToken), shown, valueTitle, hint },
    behaviour: BEHAVIOUR,
  };
}

/** Options of {@link coloredTokensHtml}. */
export interface ColoredTokensOptions {
  /** The tokens as text, in order (e.g. `model.toStrTokens(prompt)`). */
  tokens: readonly string[];
  /** One value per token: numbers, a tf.Tensor or a Lazy (size-1 dims such as a batch of one are dropped). */
  values: NumericInput;
  /** The page's heading. Default `'tokens by value'`. */
  title?: string;
  /** What a value is (legend and hover). Default `'value'`. */
  valueTitle?: string;
  /** The magnitude drawn at full colour (default: the largest |value|); larger ones saturate. */
  maxAbs?: number;
}

const KEYS: OptionKeys<ColoredTokensOptions> = {
  tokens: true,
  values: true,
  title: true,
  valueTitle: true,
  maxAbs: true,
};

/**
 * A self-contained HTML page (every script inline, nothing fetched) showing each token on a
 * background coloured by its value: blue above 0, red below, white at 0, on a scale symmetric
 * about 0. Hovering a token shows its value. Spaces and newlines inside tokens are drawn visibly.
 *
 * @param options the tokens, one value per token, the value's title, the scale's bound and a title.
 * @example
 * ```ts
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const prompt = 'cat dog tree sun cat dog tree sun';
 * // The loss of each next-token prediction: low on the repeat, where induction can copy.
 * // [1, pos - 1]
 * const loss = await model.forward(prompt, { returnType: 'loss', lossPerToken: true });
 * const tokens = model.toStrTokens(prompt).slice(1); // the token each loss predicts
 * const html = await coloredTokensHtml({ tokens, values: loss, valueTitle: 'loss' });
 * console.log(html.length); // write it to a .html file and open it in a browser
 * loss.dispose();
 * model.dispose();
 * ```
 * @throws InvalidArgumentError for an unknown option or a non-finite value.
 * @throws ShapeError when there is not one value per token.
 */
export async function coloredTokensHtml(options: ColoredTokensOptions): Promise<string> {
  const where = 'coloredTokensHtml';
  checkOptions(options, KEYS, where);
  if (options === undefined || options.values === undefined || options.tokens === undefined) {
    throw new InvalidArgumentError(`${where}: given without tokens or values; expected { tokens, values }.`);
  }
  const values = squeezeTo(
    await readValues(options.values, where, 'values'),
    1,
    where,
    'values',
    '[tokens]',
  ) as number[];
  checkNumbers(values, where, 'values');
  const tokens = checkLabels(options.tokens, values.length, where, 'tokens', 'values');
  const { maxAbs } = options;
  if (maxAbs !== undefined && !(typeof maxAbs === 'number' && Number.isFinite(maxAbs) && maxAbs > 0)) {
    throw new InvalidArgumentError(
      `${where}: maxAbs given as ${String(maxAbs)}; expected a finite number > 0.`,
    );
  }
  const scale = maxAbs ?? Math.max(1e-12, ...values.map(Math.abs));
  const valueTitle = options.valueTitle ?? 'value';
  return renderPage({
    title: options.title ?? 'tokens by value',
    facts: [['tokens', String(tokens.length)]],
    sections: [coloredTokensSection('ll-tokens', tokens, values, valueTitle, scale)],
    charts: [],
    table: {
      headers: ['position', 'token', valueTitle],
      rows: tokens.map((t, i) => [i, visibleToken(t), values[i]]),
    },
  });
}
