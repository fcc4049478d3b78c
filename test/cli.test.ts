import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildProgram } from '../src/cli.js';

test('--help names every subcommand and each option with its default', () => {
  const program = buildProgram();
  const help = program.helpInformation();
  for (const command of program.commands) {
    assert.ok(help.includes(command.name()), `top-level help lists ${command.name()}`);
    const commandHelp = command.helpInformation();
    for (const option of command.options) {
      assert.ok(commandHelp.includes(option.long ?? option.flags), `${command.name()} --help lists ${option.flags}`);
      if (option.defaultValue !== undefined && option.defaultValue !== false) {
        assert.ok(commandHelp.includes('default:'), `${command.name()} --help shows defaults`);
      }
    }
  }
});

test('--help marks the required options', () => {
  for (const command of buildProgram().commands.flatMap((c) => [c, ...c.commands])) {
    for (const option of command.options.filter((o) => o.mandatory)) {
      const line = command.helpInformation().split(/\n(?=  -)/).find((entry) => entry.trimStart().startsWith(option.flags)) ?? '';
      assert.match(line.replace(/\s+/g, ' '), /\(required\)/, `${command.name()} ${option.flags}`);
    }
  }
  const video = buildProgram().commands.find((c) => c.name() === 'video')!.helpInformation().replace(/\s+/g, ' ');
  assert.match(video, /share of frames in the window that must vote/);
  assert.not.match(video, /image's vote|share of images/);
});

test('--mask surface|region|cells, --band and --region-depth, with the same help and default on every command that writes masks', () => {
  const program = buildProgram();
  const commands = program.commands.flatMap((c) => (c.name() === 'experiment' ? c.commands : [c]));
  for (const name of ['segment', 'cosegment', 'video', 'serve', 'same-domain', 'cross-domain', 'noise']) {
    const command = commands.find((c) => c.name() === name)!;
    const mask = command.options.find((o) => o.long === '--mask')!;
    assert.ok(mask, `${name} has --mask`);
    assert.equal(mask.argChoices, ['surface', 'region', 'cells'], name);
    assert.is(mask.defaultValue, 'surface', name);
    assert.ok(command.options.some((o) => o.long === '--band') && command.options.some((o) => o.long === '--region-depth'), name);
  }
});

test.run();
