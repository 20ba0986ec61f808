import { greet } from '../src/greet.js';

test('greets by name', () => {
  expect(greet('Ada')).toBe('Hello, Ada.');
});
