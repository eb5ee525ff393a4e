/**
 * Labelled forms that post to the API and show its refusal in place: every control has a <label for>, the
 * submit is a real <button type="submit"> (Enter works), and the error area is role="alert" so a screen reader
 * reads the refusal out. A form may ask for confirmation before it sends (ending a subscription).
 */
import type { ApiError } from '../src/api';
import { h, type Attributes, type Child } from './dom.js';
import { ApiFailure } from './http.js';

/** A mistake in what was typed, found before anything is sent. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export interface FieldSpec {
  name: string;
  label: string;
  kind?: 'text' | 'number' | 'date' | 'textarea' | 'select';
  value?: string;
  required?: boolean;
  hint?: string;
  testId?: string;
  /** The choices of a select: [value, text]. */
  options?: [string, string][];
  /** Further attributes of the control: min, step, pattern, maxlength, inputmode, autocomplete, ... */
  attributes?: Attributes;
}

export interface FormValues {
  /** The control's value without surrounding white space. */
  text(name: string): string;
  /** The value as typed (data a household shares is passed on exactly). */
  raw(name: string): string;
  /** The trimmed value, or undefined when the control is empty. */
  optional(name: string): string | undefined;
}

export interface ActionFormSpec {
  /** Stable across re-renders, e.g. idFor('dispute', billId): the controls' ids derive from it. */
  id: string;
  title?: string;
  intro?: Child;
  fields: FieldSpec[];
  submitLabel: string;
  submitTestId?: string;
  className?: string;
  /** When given, the first submit asks this question and only a second submit sends. */
  confirm?: (values: FormValues) => string;
  /** Sends the form; resolves to a short notice of what happened ("Bill disputed"). */
  onSubmit: (values: FormValues) => Promise<string>;
  onSuccess?: (notice: string) => void;
}

export function controlId(formId: string, name: string): string {
  return `${formId}-${name}`;
}

export function actionForm(spec: ActionFormSpec): HTMLFormElement {
  const submit = h(
    'button',
    { type: 'submit', id: controlId(spec.id, 'submit'), 'data-testid': spec.submitTestId },
    spec.submitLabel,
  );
  const cancel = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Cancel');
  const question = h('p', { class: 'confirm-question', hidden: true });
  // data-keep: a refusal stays on screen when a ledger event renders the page again (app.ts).
  const errorArea = h('div', {
    id: controlId(spec.id, 'error'),
    role: 'alert',
    class: 'form-error',
    'data-testid': 'form-error',
    'data-keep': true,
  });
  const controls = spec.fields.map((field) => fieldBlock(spec.id, field));
  const body: Child[] = [
    spec.intro,
    ...controls,
    question,
    h('div', { class: 'form-actions' }, submit, cancel),
    errorArea,
  ];
  const form = h(
    'form',
    { id: spec.id, class: `action-form ${spec.className ?? ''}`.trim() },
    ...(spec.title === undefined ? body : [h('fieldset', {}, h('legend', {}, spec.title), ...body)]),
  );
  const confirmation = confirmationStep(submit, cancel, question, spec.submitLabel);
  cancel.addEventListener('click', () => {
    confirmation.leave();
    submit.focus();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submitForm(form, spec, { submit, errorArea, confirmation });
  });
  return form;
}

interface Confirmation {
  readonly asking: boolean;
  ask(text: string): void;
  leave(): void;
}

function confirmationStep(
  submit: HTMLButtonElement,
  cancel: HTMLButtonElement,
  question: HTMLElement,
  submitLabel: string,
): Confirmation {
  let asking = false;
  return {
    get asking() {
      return asking;
    },
    ask(text) {
      asking = true;
      question.textContent = text;
      question.hidden = false;
      cancel.hidden = false;
      submit.textContent = `Yes: ${submitLabel.toLowerCase()}`;
      submit.focus();
    },
    leave() {
      asking = false;
      question.hidden = true;
      cancel.hidden = true;
      submit.textContent = submitLabel;
    },
  };
}

async function submitForm(
  form: HTMLFormElement,
  spec: ActionFormSpec,
  parts: { submit: HTMLButtonElement; errorArea: HTMLElement; confirmation: Confirmation },
): Promise<void> {
  const { submit, errorArea, confirmation } = parts;
  errorArea.replaceChildren();
  const values = formValues(form);
  submit.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    if (spec.confirm && !confirmation.asking) {
      confirmation.ask(spec.confirm(values));
      return;
    }
    const notice = await spec.onSubmit(values);
    confirmation.leave();
    // Sent: what was typed is done with, so a refresh of the page must not bring it back (a second top-up).
    form.reset();
    spec.onSuccess?.(notice);
  } catch (error) {
    confirmation.leave();
    showError(errorArea, error);
  } finally {
    submit.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

function formValues(form: HTMLFormElement): FormValues {
  const raw = (name: string): string => {
    const control = form.elements.namedItem(name);
    if (
      control instanceof HTMLInputElement ||
      control instanceof HTMLTextAreaElement ||
      control instanceof HTMLSelectElement
    )
      return control.value;
    throw new Error(`form ${form.id} has no field ${name}`);
  };
  const text = (name: string) => raw(name).trim();
  return { raw, text, optional: (name) => text(name) || undefined };
}

function fieldBlock(formId: string, field: FieldSpec): HTMLElement {
  const id = controlId(formId, field.name);
  const hintId = field.hint === undefined ? undefined : `${id}-hint`;
  return h(
    'div',
    { class: 'field' },
    h(
      'label',
      { for: id },
      field.label,
      field.required ? '' : h('span', { class: 'optional' }, ' (optional)'),
    ),
    hintId === undefined ? null : h('p', { id: hintId, class: 'hint' }, field.hint),
    control(id, field, hintId),
  );
}

function control(id: string, field: FieldSpec, hintId: string | undefined): HTMLElement {
  const attributes: Attributes = {
    id,
    name: field.name,
    required: field.required ?? false,
    'data-testid': field.testId,
    'aria-describedby': hintId,
    ...field.attributes,
  };
  // Values go in as defaults (the value attribute, the text of a textarea, the selected option), so that the
  // page can tell what the user has changed since (app.ts keeps that across a refresh) and reset() restores them.
  const kind = field.kind ?? 'text';
  if (kind === 'textarea') return h('textarea', { rows: 3, ...attributes }, field.value ?? '');
  if (kind === 'select') return selectControl(attributes, field);
  return h('input', { type: kind, value: field.value, ...attributes });
}

function selectControl(attributes: Attributes, field: FieldSpec): HTMLSelectElement {
  const options = field.options ?? [];
  const chosen = options.some(([value]) => value === field.value) ? field.value : options.at(0)?.[0];
  return h(
    'select',
    attributes,
    ...options.map(([value, text]) => h('option', { value, selected: value === chosen }, text)),
  );
}

export function showError(area: HTMLElement, error: unknown): void {
  area.replaceChildren(...errorContent(error));
}

/** A refusal shown in the page where the data would have been. */
export function errorAlert(error: unknown): HTMLElement {
  return h(
    'div',
    { role: 'alert', class: 'form-error', 'data-testid': 'page-error' },
    ...errorContent(error),
  );
}

function errorContent(error: unknown): Node[] {
  if (error instanceof ApiFailure) return apiErrorContent(error.apiError);
  if (error instanceof InputError) return [h('p', {}, error.message)];
  return [h('p', {}, `Something went wrong: ${error instanceof Error ? error.message : String(error)}`)];
}

/** CODE: message, the peer that refused, and each field the server's schema refused. */
function apiErrorContent(error: ApiError): Node[] {
  const nodes: Node[] = [h('p', { class: 'error-code' }, `${error.code}: ${error.message}`)];
  if (error.peer !== undefined) nodes.push(h('p', {}, `Refused by peer ${error.peer}`));
  if (error.fields !== undefined && error.fields.length > 0)
    nodes.push(h('ul', { class: 'error-fields' }, ...error.fields.map((field) => h('li', {}, field))));
  return nodes;
}

/** The region code rule of the ledger (REGION_CODE_PATTERN), written for the HTML pattern attribute (v flag). */
export const REGION_CODE_INPUT_PATTERN = '[a-z0-9\\-]{1,16}(/[a-z0-9\\-]{1,16}){0,5}';
/** The ledger's rule for identifiers such as payment references. */
export const IDENTIFIER_INPUT_PATTERN = '[A-Za-z0-9._\\-]{1,64}';

/** A payment's reference (a bill payment, a top-up): used once, so a repeated submit is not paid twice. */
export function paymentReferenceField(testId: string): FieldSpec {
  return {
    name: 'reference',
    label: 'Payment reference',
    required: true,
    testId,
    attributes: { pattern: IDENTIFIER_INPUT_PATTERN, autocomplete: 'off' },
  };
}

/** A region code (north/d1), as the ledger writes it. */
export function regionCodeField(testId: string, value: string | undefined): FieldSpec {
  return {
    name: 'region',
    label: 'Region code',
    required: true,
    value,
    testId,
    attributes: { pattern: REGION_CODE_INPUT_PATTERN, autocomplete: 'off' },
  };
}

/** The days of a from/to pair of date inputs (YYYY-MM-DD, the "to" day included), in order. */
export function dayRangeOf(values: FormValues): { from: string; to: string } {
  const from = values.text('from');
  const to = values.text('to');
  if (from === '' || to === '') throw new InputError('Give both days of the range.');
  if (to < from) throw new InputError('The "to" day must not be before the "from" day.');
  return { from, to };
}
