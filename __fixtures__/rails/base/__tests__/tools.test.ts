import { searchDocs } from '../src/tools.js';

test('finds pages containing every word', () => {
  expect(searchDocs('agent limits', { 'a.md': 'The agent has limits', 'b.md': 'nothing' })).toEqual(['a.md']);
});
