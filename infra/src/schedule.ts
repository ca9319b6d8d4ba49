/**
 * A function run on a fixed rate by EventBridge Scheduler (the scheduled verifier, the OCSF
 * export): the schedule and the role it invokes the function with, which may do that and nothing
 * else, and only for this account's schedule of this name (confused-deputy protection). A failed
 * run is not retried: the next scheduled run starts again from the state the function stores.
 */
import { Duration } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction, Function as LambdaFn } from 'aws-cdk-lib/aws-lambda';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

export type RateSchedule = {
  readonly account: string;
  readonly region: string;
  /** The schedule's name, also the last part of the ARN its role is pinned to. */
  readonly name: string;
  readonly roleName: string;
  readonly rateMinutes: number;
  /** The deployment's name (config `name`), for the schedule's description. */
  readonly deployment: string;
  /** What the role invokes, for its description (e.g. `the verifier`). */
  readonly invokes: string;
  /** What each run does, for the schedule's description (e.g. `OCSF export (parquet)`). */
  readonly task: string;
  /** The role's one statement's id (e.g. `InvokeExport`). */
  readonly sid: string;
  readonly fn: LambdaFn;
  /** Where the event of a failed run, or of one that waited a whole period, goes (SNS). */
  readonly deadLetters: ITopic;
};

/**
 * Adds `SchedulerRole` and `Schedule` to `scope`: `fn` invoked every `rateMinutes` with `{}`, no
 * retries, dead letters to `deadLetters`.
 * @returns the scheduler's role
 */
export function scheduleFunction(scope: Construct, s: RateSchedule): Role {
  const rate = Duration.minutes(s.rateMinutes);
  s.fn.configureAsyncInvoke({
    retryAttempts: 0,
    maxEventAge: Duration.seconds(Math.min(Math.max(rate.toSeconds(), 60), 21_600)),
  });
  (s.fn.node.defaultChild as CfnFunction).deadLetterConfig = {
    targetArn: s.deadLetters.topicArn,
  };
  const role = new Role(scope, 'SchedulerRole', {
    roleName: s.roleName,
    assumedBy: new ServicePrincipal('scheduler.amazonaws.com').withConditions({
      StringEquals: { 'aws:SourceAccount': s.account },
      ArnEquals: {
        'aws:SourceArn': `arn:aws:scheduler:${s.region}:${s.account}:schedule/default/${s.name}`,
      },
    }),
    description: `auditlock: EventBridge Scheduler invokes ${s.invokes}, nothing else`,
  });
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: s.sid,
      actions: ['lambda:InvokeFunction'],
      resources: [s.fn.functionArn],
    }),
  );
  new CfnSchedule(scope, 'Schedule', {
    name: s.name,
    description: `auditlock ${s.deployment}: ${s.task} every ${s.rateMinutes} minutes`,
    scheduleExpression: `rate(${s.rateMinutes} minutes)`,
    flexibleTimeWindow: { mode: 'OFF' },
    state: 'ENABLED',
    target: {
      arn: s.fn.functionArn,
      roleArn: role.roleArn,
      input: '{}',
      // A missed delivery is worth no more than the next run; the NotRunning alarm catches it.
      retryPolicy: {
        maximumRetryAttempts: 2,
        maximumEventAgeInSeconds: Math.min(s.rateMinutes * 60, 86_400),
      },
    },
  });
  return role;
}
