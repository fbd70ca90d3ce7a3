import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressLine } from '../../src/cli/models-command.js';

function terminal(isTTY: boolean) {
  const written: string[] = [];
  const stream = { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

test('the download progress bar redraws one line on a terminal, at most four times a second, and stays silent when piped', async () => {
  assert.equal(progressLine('sdxl-turbo', terminal(false).stream), undefined);
  const { stream, written } = terminal(true);
  const show = progressLine('sdxl-turbo', stream)!;
  show({ file: 'unet/model.onnx_data', doneBytes: 0, totalBytes: 4 * 2 ** 30 });
  show({ file: 'unet/model.onnx_data', doneBytes: 2 ** 30, totalBytes: 4 * 2 ** 30 });
  assert.equal(written.length, 1, 'a second update within 250 ms is dropped');
  await new Promise((resolve) => setTimeout(resolve, 260));
  show({ file: 'unet/model.onnx_data', doneBytes: 2 * 2 ** 30, totalBytes: 4 * 2 ** 30 });
  assert.equal(written.length, 2);
  assert.ok(written[1].startsWith('\r\u001b[2K'), 'the line is cleared and redrawn in place');
  assert.match(written[1].slice(5), /^sdxl-turbo █{10}░{10} 2\.0 GiB \/ 4\.0 GiB · [\d.]+ (GiB|MiB)\/s · \d+ min left · unet\/model\.onnx_data$/);
});
