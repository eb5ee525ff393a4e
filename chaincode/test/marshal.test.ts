import { canonicalJson, marshal, unmarshal } from '../src/ledger/marshal';

describe('canonical ledger JSON', () => {
  it('when keys are given in any order then the bytes are the same, sorted at every depth', () => {
    const a = { zeta: 1, alpha: { y: [3, { b: 2, a: 1 }], x: 'v' } };
    const b = { alpha: { x: 'v', y: [3, { a: 1, b: 2 }] }, zeta: 1 };
    expect(canonicalJson(a)).toBe('{"alpha":{"x":"v","y":[3,{"a":1,"b":2}]},"zeta":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('when a field is undefined then it is left out, as JSON.stringify would', () => {
    expect(canonicalJson({ b: undefined, a: 1 })).toBe('{"a":1}');
  });

  it('when a record holds a fractional number then marshalling refuses it (money and energy are integers)', () => {
    expect(() => marshal({ amount: 0.1 })).toThrow(/non-integer/);
  });

  it('when bytes are unmarshalled then the record comes back', () => {
    expect(unmarshal<{ a: number }>(marshal({ a: 5 }))).toEqual({ a: 5 });
  });
});
