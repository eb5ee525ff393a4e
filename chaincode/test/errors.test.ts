import { parseErrorMessage } from '@smartmeter/domain';
import { forbidden } from '../src/contractError';

describe('error messages', () => {
  it('when a contract error is raised then its message parses back to code and text', () => {
    expect(parseErrorMessage(forbidden('only operators may approve').message)).toEqual({
      code: 'FORBIDDEN',
      text: 'only operators may approve',
    });
  });

  it('when a message has no known code then parsing returns null', () => {
    expect(parseErrorMessage('SOMETHING: else')).toBeNull();
    expect(parseErrorMessage('plain text')).toBeNull();
  });
});
